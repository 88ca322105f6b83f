package org.lens4j.analysis.ioi;

import java.util.List;
import org.lens4j.analysis.heads.LayerHead;
import org.lens4j.analysis.patching.PatchingOptions;

/**
 * How {@link IoiRoles#compute} runs. Immutable; start from {@link #DEFAULT}.
 *
 * @param nameMoverCount how many of the best name-mover heads are the receivers of the S-inhibition path
 *     patching and are ablated for the backup scores, when {@code nameMovers} is null
 * @param nameMovers those heads given explicitly (e.g. the paper's L9H9, L9H6, L10H0 for GPT-2 small), or null
 *     to take the {@code nameMoverCount} heads with the highest name-mover score
 * @param batchSize the most prompts per forward pass (prompts of one template are batched together)
 * @param patching options of the path-patching sweeps
 */
public record IoiRolesOptions(int nameMoverCount, List<LayerHead> nameMovers, int batchSize, PatchingOptions patching) {

    /** The top 3 name movers, batches of at most 16 prompts, default patching options. */
    public static final IoiRolesOptions DEFAULT = new IoiRolesOptions(3, null, 16, PatchingOptions.DEFAULT);

    /** Validates the options and copies the head list. */
    public IoiRolesOptions {
        if (nameMovers != null) {
            if (nameMovers.isEmpty()) {
                throw new IllegalArgumentException("nameMovers is empty: give at least one head, or null for the top "
                        + nameMoverCount);
            }
            nameMovers = List.copyOf(nameMovers);
            nameMoverCount = nameMovers.size();
        }
        if (nameMoverCount < 1) {
            throw new IllegalArgumentException("nameMoverCount must be >= 1, not " + nameMoverCount);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, not " + batchSize);
        }
        if (patching == null) {
            throw new IllegalArgumentException("patching options are null");
        }
    }

    /** These options with the top {@code n} name movers chosen by score. */
    public IoiRolesOptions withNameMoverCount(int n) {
        return new IoiRolesOptions(n, null, batchSize, patching);
    }

    /** These options with explicit name-mover heads. */
    public IoiRolesOptions withNameMovers(List<LayerHead> heads) {
        return new IoiRolesOptions(heads.size(), heads, batchSize, patching);
    }

    /** These options with another batch size. */
    public IoiRolesOptions withBatchSize(int n) {
        return new IoiRolesOptions(nameMoverCount, nameMovers, n, patching);
    }

    /** These options with other path-patching options. */
    public IoiRolesOptions withPatching(PatchingOptions p) {
        return new IoiRolesOptions(nameMoverCount, nameMovers, batchSize, p);
    }
}
