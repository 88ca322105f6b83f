package org.lens4j.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.lens4j.analysis.heads.RepeatedTokens;
import org.lens4j.analysis.report.HeadReport;
import org.lens4j.analysis.report.HeadReportWriter;
import org.lens4j.analysis.report.HeadScoreTable;
import org.lens4j.core.HookedTransformer;
import org.lens4j.models.zoo.ZooModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lens heads}: which heads in these models do what. For each model, a CSV (one row per head, one
 * column per detector), a Markdown summary and a self-contained HTML page; plus an index over the zoo.
 */
@Command(name = "heads", mixinStandardHelpOptions = true,
        description = "Score every attention head of a zoo of models with head detectors; write CSV, Markdown and HTML.")
public final class HeadsCommand implements Callable<Integer> {

    @Option(names = "--models", split = ",",
            description = "Registry names, hub ids or directories (default: the zoo that ships with lens4j).")
    List<String> models;

    @Option(names = "--detectors", split = ",",
            description = "Detectors to run (default: previous_token,duplicate_token,induction,copying).")
    List<String> detectors;

    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;

    @Option(names = "--segment-length", defaultValue = "20",
            description = "Length of the repeated random segment (default ${DEFAULT-VALUE}).")
    int segmentLength;

    @Option(names = "--batch", defaultValue = "16", description = "Repeated sequences per model (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seed", defaultValue = "0")
    long seed;

    @Option(names = "--no-progress", description = "Do not draw a progress bar.")
    boolean noProgress;

    @Override
    public Integer call() throws Exception {
        List<String> names = models == null || models.isEmpty() ? ZooModels.list() : models;
        List<String> dets = detectors == null || detectors.isEmpty() ? HeadReport.DEFAULT_DETECTORS : detectors;
        Files.createDirectories(out);
        StringBuilder index = new StringBuilder("# Head reports\n\n| model | layers x heads | top head per detector |\n|---|---|---|\n");
        List<Path> written = new ArrayList<>();
        // A bar only on a terminal: redrawn lines would clutter logs and CI output.
        boolean showBar = !noProgress && System.console() != null;
        ProgressBarBuilder bar = new ProgressBarBuilder().setTaskName("heads").setInitialMax(names.size())
                .setStyle(ProgressBarStyle.ASCII);
        try (ProgressBar progress = showBar ? bar.build() : null) {
            for (String name : names) {
                if (progress != null) {
                    progress.setExtraMessage(name);
                }
                try (HookedTransformer model = HookedTransformer.fromPretrained(name)) {
                    RepeatedTokens sequences = RepeatedTokens.builder().segmentLength(segmentLength).batchSize(batch)
                            .seed(seed).build();
                    HeadScoreTable table = HeadReport.scores(name, model, dets, sequences);
                    Path dir = out.resolve(safe(name));
                    written.addAll(HeadReportWriter.write(table, HeadReport.example(model, table, sequences), dir));
                    index.append("| [").append(name).append("](").append(safe(name)).append("/summary.md) | ")
                            .append(table.nLayers()).append(" x ").append(table.nHeads()).append(" | ");
                    for (String d : table.detectors()) {
                        table.top(d, 1).forEach(h -> index.append(d).append(": ").append(h.label())
                                .append(String.format(Locale.ROOT, " (%.2f); ", h.value())));
                    }
                    index.append("|\n");
                }
                if (progress != null) {
                    progress.step();
                }
            }
        }
        Files.writeString(out.resolve("index.md"), index.toString());
        System.out.printf("wrote %d files for %d models to %s%n", written.size() + 1, names.size(), out);
        return 0;
    }


    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
