package org.lens4j.examples;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.lens4j.analysis.probes.Penalty;
import org.lens4j.analysis.probes.Positions;
import org.lens4j.analysis.probes.ProbeOptions;
import org.lens4j.analysis.probes.ProbeReport;
import org.lens4j.analysis.probes.ProbeWeightsChart;
import org.lens4j.analysis.probes.ProbingSet;
import org.lens4j.analysis.probes.ProbingSetCollector;
import org.lens4j.analysis.probes.TokenFeature;
import org.lens4j.analysis.training.InductionTask;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;
import org.lens4j.core.ProcessingOptions;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lens probe}: trains a linear probe for a per-token label on a model's activations at one hook,
 * and writes the probe ({@code probe.safetensors} + {@code probe.json}), its metrics
 * ({@code metrics.json}: held-out accuracy, AUROC, F1, the best single neuron, the neuron-basis analysis)
 * and a picture of its weights ({@code weights.png}) into a directory.
 */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = "Train a linear probe for a token label at a hook; write metrics, the probe and a weights picture.")
public final class ProbeCommand implements Callable<Integer> {

    @Option(names = "--model", required = true,
            description = "A zoo model (lens4j-induction-attn-only-2l, ...), a model directory (TransformerLens "
                    + "config.json + weights.safetensors), or what HookedTransformer.fromPretrained accepts.")
    String model;

    @Option(names = "--hook", required = true,
            description = "The hook point to probe, full name or shorthand (blocks.1.hook_resid_post, z1, ...).")
    String hook;

    @Option(names = "--label", required = true,
            description = "A built-in feature (seen-before, is-bos, is-bos:<id>, token-in:<ids>) or a regex on string "
                    + "tokens (regex:<re>, or any other text). Repeat for a multi-class probe: the class is the first "
                    + "label that holds, else 'none'.")
    List<String> labels;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--tokens", description = "Token ids: rows separated by ';', ids by ',' (e.g. \"1,2,3;4,5,6\").")
        String inline;

        @Option(names = "--tokens-file", description = "A safetensors file with an I64 tensor \"tokens\" [batch, pos].")
        Path tokensFile;

        @Option(names = "--texts-file", description = "A UTF-8 text file, one text per line (needs a tokenizer).")
        Path textsFile;

        @Option(names = "--induction-sequences",
                description = "This many random sequences with one repeated segment (the zoo's training task: BOS = 0, "
                        + "tokens 1 .. d_vocab - 1; see --seq-len and --segment).")
        Integer inductionSequences;
    }

    @Option(names = "--seq-len", description = "Length of --induction-sequences, BOS included (default n_ctx).")
    Integer seqLen;

    @Option(names = "--segment", defaultValue = "6:16",
            description = "Shortest:longest repeated segment of --induction-sequences (default ${DEFAULT-VALUE}).")
    String segment;

    @Option(names = "--positions", defaultValue = "all",
            description = "all, from:<k>, last, or positions like 3,5,-1 (default ${DEFAULT-VALUE}).")
    String positions;

    @Option(names = "--penalty", defaultValue = "l2", description = "none, l1 (sparse probe) or l2 (default ${DEFAULT-VALUE}).")
    String penalty;

    @Option(names = "--lambda", defaultValue = "1e-3", description = "Penalty strength (default ${DEFAULT-VALUE}).")
    double lambda;

    @Option(names = "--max-steps", defaultValue = "2000", description = "Most training steps (default ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(names = "--test-fraction", defaultValue = "0.25",
            description = "Fraction of sequences held out (default ${DEFAULT-VALUE}).")
    double testFraction;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the split and the sampling (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--no-balance", description = "Keep the classes as they come instead of down-sampling to equal sizes.")
    boolean noBalance;

    @Option(names = "--shuffle-labels",
            description = "Control task: permute the labels across rows first (a probe should then be at chance).")
    boolean shuffleLabels;

    @Option(names = "--batch-size", defaultValue = "32", description = "Sequences per forward pass (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--no-processing", description = "Do not process weights (from_pretrained_no_processing).")
    boolean noProcessing;

    @Option(names = "--out", required = true, description = "The directory to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
        ProbeOptions options = ProbeOptions.builder().penalty(Penalty.parse(penalty)).lambda(lambda).maxSteps(maxSteps)
                .testFraction(testFraction).balance(!noBalance).seed(seed).build();
        Positions where = Positions.parse(positions);
        LoadOptions load = LoadOptions.defaults()
                .withProcessing(noProcessing ? ProcessingOptions.NONE : ProcessingOptions.DEFAULT);
        try (HookedTransformer m = HookedTransformer.fromPretrained(model, load)) {
            List<TokenFeature> features = new ArrayList<>();
            for (String label : labels) {
                features.add(TokenFeature.parse(label, m.tokenizer()));
            }
            TokenFeature feature = features.size() == 1 ? features.get(0) : TokenFeature.firstOf(features);
            ProbingSetCollector collector = new ProbingSetCollector(m, hook, feature).positions(where).batchSize(batchSize);
            ProbingSet set = collect(collector, m);
            if (shuffleLabels) {
                set = set.withShuffledLabels(seed);
            }
            ProbeReport report = ProbeReport.run(set, options);
            Files.createDirectories(out);
            report.probe().save(out);
            Files.writeString(out.resolve("metrics.json"), report.toJson() + "\n", StandardCharsets.UTF_8);
            ProbeWeightsChart.writePng(report.probe(), out.resolve("weights.png"));
            System.out.printf("%s%n", set);
            System.out.print(report.summary());
            System.out.printf("wrote probe.safetensors, probe.json, metrics.json and weights.png to %s%n", out);
        }
        return 0;
    }

    private ProbingSet collect(ProbingSetCollector collector, HookedTransformer m) throws IOException {
        if (input.inductionSequences != null) {
            return collector.collect(inductionSequences(m));
        }
        if (input.textsFile != null) {
            List<String> texts = Files.readAllLines(input.textsFile, StandardCharsets.UTF_8).stream()
                    .filter(line -> !line.isBlank()).toList();
            if (texts.isEmpty()) {
                throw new IllegalArgumentException(input.textsFile + " has no text");
            }
            return collector.collectTexts(texts);
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            return collector.collect(input.inline != null ? CacheCommand.parseTokens(input.inline, manager)
                    : CacheCommand.readTokens(input.tokensFile, manager));
        }
    }

    private long[][] inductionSequences(HookedTransformer m) {
        String[] bounds = segment.split(":");
        int[] range;
        try {
            if (bounds.length != 2) {
                throw new NumberFormatException("not two numbers");
            }
            range = new int[] {Integer.parseInt(bounds[0].trim()), Integer.parseInt(bounds[1].trim())};
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--segment must be shortest:longest, e.g. 6:16, not '" + segment + "'", e);
        }
        if (input.inductionSequences < 2) {
            throw new IllegalArgumentException("--induction-sequences needs at least 2 sequences to split, not "
                    + input.inductionSequences);
        }
        InductionTask task = new InductionTask(m.config().dVocab(), seqLen == null ? m.config().nCtx() : seqLen,
                range[0], range[1]);
        Random rng = new Random(seed);
        long[][] tokens = new long[input.inductionSequences][];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = task.sequence(rng);
        }
        return tokens;
    }
}
