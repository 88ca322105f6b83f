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
 * @param sInhibition whether to score S-inhibition: a path-patching sweep over every head, by far the most
 *     expensive role (about 100 forward passes of the model per prompt for GPT-2 small); when false the
 *     s_inhibition scores are NaN (not scored)
 */
public record IoiRolesOptions(int nameMoverCount, List<LayerHead> nameMovers, int batchSize, PatchingOptions patching,
        boolean sInhibition) {

    /** The top 3 name movers, batches of at most 16 prompts, default patching options, every role scored. */
    public static final IoiRolesOptions DEFAULT = new IoiRolesOptions(3, null, 16, PatchingOptions.DEFAULT, true);

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
        return new IoiRolesOptions(n, null, batchSize, patching, sInhibition);
    }

    /** These options with explicit name-mover heads. */
    public IoiRolesOptions withNameMovers(List<LayerHead> heads) {
        return new IoiRolesOptions(heads.size(), heads, batchSize, patching, sInhibition);
    }

    /** These options with another batch size. */
    public IoiRolesOptions withBatchSize(int n) {
        return new IoiRolesOptions(nameMoverCount, nameMovers, n, patching, sInhibition);
    }

    /** These options with other path-patching options. */
    public IoiRolesOptions withPatching(PatchingOptions p) {
        return new IoiRolesOptions(nameMoverCount, nameMovers, batchSize, p, sInhibition);
    }

    /** These options with S-inhibition scored or not. */
    public IoiRolesOptions withSInhibition(boolean on) {
        return new IoiRolesOptions(nameMoverCount, nameMovers, batchSize, patching, on);
    }
}
