package org.lens4j.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.lens4j.analysis.probes.Positions;
import org.lens4j.analysis.probes.ProbeOptions;
import org.lens4j.analysis.probes.ProbeReport;
import org.lens4j.analysis.probes.ProbingSet;
import org.lens4j.analysis.probes.ProbingSetCollector;
import org.lens4j.analysis.probes.TokenFeature;
import org.lens4j.analysis.training.InductionTask;
import org.lens4j.core.HookedTransformer;
import org.lens4j.models.zoo.ZooModels;

/**
 * Where does "this token appeared earlier in the sequence" become linearly readable? Probes every zoo
 * model at the positional embedding, the token embedding and each block's residual stream output, on
 * 400 sequences of the zoo's training task, and prints held-out accuracy and AUROC, the best single
 * neuron, and the shuffled-label control.
 */
public final class ProbeDemo {

    private ProbeDemo() {}

    /**
     * Runs the sweep.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        InductionTask task = new InductionTask(128, 48, 6, 16);
        Random rng = new Random(0);
        long[][] tokens = new long[400][];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = task.sequence(rng);
        }
        System.out.println("| model | hook | test accuracy | test AUROC | best neuron (accuracy) | shuffled labels |");
        System.out.println("|---|---|---|---|---|---|");
        for (String name : ZooModels.list()) {
            try (HookedTransformer model = ZooModels.load(name)) {
                List<String> hooks = new ArrayList<>(List.of("hook_pos_embed", "hook_embed"));
                for (int l = 0; l < model.config().nLayers(); l++) {
                    hooks.add("blocks." + l + ".hook_resid_post");
                }
                for (String hook : hooks) {
                    ProbingSet set = new ProbingSetCollector(model, hook, TokenFeature.seenBefore())
                            .positions(Positions.from(1)).collect(tokens);
                    ProbeReport report = ProbeReport.run(set, ProbeOptions.DEFAULT);
                    ProbeReport control = ProbeReport.run(set.withShuffledLabels(1), ProbeOptions.DEFAULT);
                    System.out.printf(Locale.ROOT, "| %s | %s | %.4f | %.4f | n%d (%.4f) | %.4f |%n", name, hook,
                            report.test().accuracy(), report.test().auroc(), report.baseline().neuron(),
                            report.baseline().test().accuracy(), control.test().accuracy());
                }
            }
        }
    }
}
