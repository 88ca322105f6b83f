package org.lens4j.examples;

import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.lens4j.analysis.heads.HeadScores;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.analysis.heads.RepeatedTokens;
import org.lens4j.analysis.training.InductionTask;
import org.lens4j.analysis.training.Trainer;
import org.lens4j.analysis.training.TrainerOptions;
import org.lens4j.analysis.training.TrainingLog;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.io.Safetensors;
import org.lens4j.models.zoo.ZooModels;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains the models shipped in {@link ZooModels} and writes them as TransformerLens {@code config.json} +
 * {@code weights.safetensors}, then prints their per-head scores as Markdown.
 *
 * <pre>
 * ./mvnw -B -q -pl lens-examples -am package -DskipTests
 * java -cp lens-examples/target/lens.jar org.lens4j.examples.TrainZoo \
 *      --out lens-models/src/main/resources/org/lens4j/models/zoo
 * </pre>
 *
 * <p>PyTorch runs on one thread, so a run repeats bit for bit on the same machine (other CPUs may pick
 * other BLAS kernels and differ in the last bits).
 */
@Command(name = "train-zoo", mixinStandardHelpOptions = true,
        description = "Train the lens4j model zoo (attention-only induction models) and print their head scores.")
public final class TrainZoo implements Callable<Integer> {

    /** Everything that differs between the zoo models. */
    record Recipe(String name, int layers) {}

    static final List<Recipe> RECIPES = List.of(
            new Recipe(ZooModels.INDUCTION_1L, 1),
            new Recipe(ZooModels.INDUCTION_2L, 2),
            new Recipe(ZooModels.INDUCTION_3L, 3));

    /** Shared by every zoo model. */
    static final InductionTask TASK = new InductionTask(128, 48, 6, 16);

    @Option(names = "--out", required = true, description = "Folder to write <name>/config.json and weights.safetensors into.")
    Path out;

    @Option(names = "--steps", description = "Training steps per model (default: ${DEFAULT-VALUE}).")
    int steps = 3000;

    @Option(names = "--only", description = "Train only this model.")
    String only;

    /** The zoo's model configuration. */
    static HookedTransformerConfig config(Recipe r) {
        return HookedTransformerConfig.builder().modelName(r.name()).nLayers(r.layers()).dModel(64).nHeads(4).dHead(16)
                .nCtx(TASK.sequenceLength()).dVocab(TASK.vocabSize()).attnOnly(true).actFn("relu")
                .normalizationType(NormalizationType.LN).seed(1L).build();
    }

    /** The zoo's training options. */
    static TrainerOptions options(int steps) {
        return TrainerOptions.builder().steps(steps).batchSize(32).lr(2e-3).warmupSteps(100).weightDecay(0.01)
                .betas(0.9, 0.999).seed(1).build();
    }

    /**
     * Trains one model from its seeded initial weights and writes it to {@code folder}.
     *
     * @return the model (the caller closes it) and its training log
     */
    static Trained train(Recipe r, int steps, Path folder) throws IOException {
        HookedTransformerConfig cfg = config(r);
        TrainerOptions options = options(steps);
        HookedTransformer model = HookedTransformer.init(cfg);
        try {
            TrainingLog log = Trainer.train(model, TASK, options);
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("config.json"), cfg.toJson() + "\n", StandardCharsets.UTF_8);
            Safetensors.write(folder.resolve("weights.safetensors"), model.stateDict(),
                    Map.of("lens4j.recipe", recipe(r, options, log)));
            return new Trained(model, log);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** A trained model and its log. */
    record Trained(HookedTransformer model, TrainingLog log) {}

    private static String recipe(Recipe r, TrainerOptions o, TrainingLog log) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("trained_by", "org.lens4j.examples.TrainZoo");
        m.put("task", TASK.toString());
        m.put("layers", r.layers());
        m.put("init_seed", 1);
        m.put("options", o.toString());
        m.put("final_loss_mean_of_last_100_steps", log.meanOfLast(100));
        return new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(m);
    }

    @Override
    public Integer call() throws IOException {
        StringBuilder report = new StringBuilder();
        RepeatedTokens sequences = RepeatedTokens.builder().build();
        long total = System.nanoTime();
        for (Recipe r : RECIPES) {
            if (only != null && !only.equals(r.name())) {
                continue;
            }
            long start = System.nanoTime();
            Trained t = train(r, steps, out.resolve(r.name()));
            double seconds = (System.nanoTime() - start) / 1e9;
            try (HookedTransformer model = t.model()) {
                HeadScores.Result s = HeadScores.compute(model, sequences);
                System.out.printf(Locale.ROOT, "%s: %d steps in %.1f s, loss %.4f -> %.4f (mean of first/last 100)%n",
                        r.name(), steps, seconds, t.log().meanOfFirst(100), t.log().meanOfLast(100));
                report.append("### ").append(r.name()).append("\n\n")
                        .append(markdown(s.induction())).append('\n')
                        .append(markdown(s.previousToken())).append('\n')
                        .append(markdown(s.duplicateToken())).append('\n');
            }
        }
        System.out.printf(Locale.ROOT, "total %.1f s%n%n", (System.nanoTime() - total) / 1e9);
        System.out.print(report);
        return 0;
    }

    /** A Markdown table, one row per layer. */
    static String markdown(LayerHeadScores s) {
        StringBuilder sb = new StringBuilder("| ").append(s.name()).append(" |");
        for (int h = 0; h < s.heads(); h++) {
            sb.append(" H").append(h).append(" |");
        }
        sb.append("\n|---|").append("---:|".repeat(s.heads())).append('\n');
        for (int l = 0; l < s.layers(); l++) {
            sb.append("| L").append(l).append(" |");
            for (int h = 0; h < s.heads(); h++) {
                sb.append(String.format(Locale.ROOT, " %.3f |", s.get(l, h)));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Runs {@code train-zoo}. */
    public static void main(String[] args) {
        // One PyTorch thread: reproducible runs (set before the engine starts).
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        System.exit(new CommandLine(new TrainZoo()).execute(args));
    }
}
