package org.lens4j.analysis.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.LongFunction;
import org.lens4j.analysis.heads.LayerHeadScores;
import org.lens4j.analysis.dla.Attribution;
import org.lens4j.analysis.lens.LensPrediction;
import org.lens4j.analysis.lens.LogitLensResult;

/**
 * Markdown tables of analysis results, for terminals and docs. Separate from the analyses, which return
 * plain objects; token ids are shown through a caller-given decoder (a tokenizer, or {@code String::valueOf}).
 */
public final class TextTables {

    private TextTables() {}

    /** One row per component: its label, the batch mean and each batch element's attribution. */
    public static String attribution(Attribution a) {
        List<String> header = new ArrayList<>(List.of("component", "mean"));
        for (int b = 0; b < a.batchSize(); b++) {
            header.add("b" + b);
        }
        List<List<String>> rows = new ArrayList<>();
        for (int c = 0; c < a.size(); c++) {
            List<String> row = new ArrayList<>(List.of(a.labels().get(c), num(a.mean(a.labels().get(c)))));
            for (int b = 0; b < a.batchSize(); b++) {
                row.add(num(a.value(c, b)));
            }
            rows.add(row);
        }
        return markdown(header, rows);
    }

    /** A {@code [layer][unit]} grid (e.g. {@link Attribution#grid()}), one row per layer {@code L0, L1, ...}. */
    public static String grid(double[][] grid, String unitPrefix) {
        return grid(grid, "L", unitPrefix);
    }

    /** A grid whose rows are labelled {@code rowPrefix + i} and columns {@code columnPrefix + j}. */
    public static String grid(double[][] grid, String rowPrefix, String columnPrefix) {
        List<String> header = new ArrayList<>(List.of(""));
        for (int j = 0; j < (grid.length == 0 ? 0 : grid[0].length); j++) {
            header.add(columnPrefix + j);
        }
        List<List<String>> rows = new ArrayList<>();
        for (int l = 0; l < grid.length; l++) {
            List<String> row = new ArrayList<>(List.of(rowPrefix + l));
            for (double v : grid[l]) {
                row.add(num(v));
            }
            rows.add(row);
        }
        return markdown(header, rows);
    }

    /** Head scores as a layer x head grid. */
    public static String headScores(LayerHeadScores scores) {
        return grid(scores.toArray(), "H");
    }

    /**
     * One row per layer for one batch element: the top tokens with probabilities, and the target's rank and
     * probability when a target was given.
     */
    public static String logitLens(LogitLensResult r, int batch, LongFunction<String> decode) {
        boolean target = r.get(0, batch).hasTarget();
        List<String> header = new ArrayList<>(List.of("layer", "top tokens (p)"));
        if (target) {
            header.addAll(List.of("target rank", "p(target)"));
        }
        List<List<String>> rows = new ArrayList<>();
        for (int l = 0; l < r.layers().size(); l++) {
            LensPrediction p = r.get(l, batch);
            List<String> tops = new ArrayList<>();
            for (int i = 0; i < p.topTokens().length; i++) {
                tops.add(decode.apply(p.topTokens()[i]) + " (" + String.format(Locale.ROOT, "%.3f", p.topProbs()[i]) + ")");
            }
            List<String> row = new ArrayList<>(List.of(p.layer(), String.join(", ", tops)));
            if (target) {
                row.add(Integer.toString(p.targetRank()));
                row.add(String.format(Locale.ROOT, "%.4f", p.targetProb()));
            }
            rows.add(row);
        }
        return markdown(header, rows);
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%+.4f", v);
    }

    private static String markdown(List<String> header, List<List<String>> rows) {
        int[] width = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            width[i] = header.get(i).length();
            for (List<String> row : rows) {
                width[i] = Math.max(width[i], row.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, header, width);
        List<String> rule = new ArrayList<>();
        for (int w : width) {
            rule.add("-".repeat(w));
        }
        line(sb, rule, width);
        for (List<String> row : rows) {
            line(sb, row, width);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] width) {
        sb.append('|');
        for (int i = 0; i < cells.size(); i++) {
            sb.append(' ').append(String.format("%-" + width[i] + "s", cells.get(i))).append(" |");
        }
        sb.append('\n');
    }
}
