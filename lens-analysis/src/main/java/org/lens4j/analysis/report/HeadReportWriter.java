package org.lens4j.analysis.report;

import org.lens4j.analysis.heads.LayerHeadScores;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a model's head report: {@code heads.csv} (one row per layer and head, one column per detector),
 * {@code summary.md} (the top heads per detector) and {@code report.html} (one self-contained page, no
 * scripts or external resources, with a layer x head heatmap per detector as inline SVG and the attention
 * patterns of the top heads on an example prompt).
 */
public final class HeadReportWriter {

    private static final int CELL = 28;
    private static final int TOP_K = 5;

    private HeadReportWriter() {}

    /**
     * Writes the three files into {@code dir} (created if needed).
     *
     * @param example attention patterns to show, or null
     * @return the files written
     */
    public static List<Path> write(HeadScoreTable table, AttentionExample example, Path dir) {
        try {
            Files.createDirectories(dir);
            Path csv = dir.resolve("heads.csv");
            Path md = dir.resolve("summary.md");
            Path html = dir.resolve("report.html");
            Files.writeString(csv, csv(table), StandardCharsets.UTF_8);
            Files.writeString(md, markdown(table), StandardCharsets.UTF_8);
            Files.writeString(html, html(table, example), StandardCharsets.UTF_8);
            return List.of(csv, md, html);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the head report to " + dir, e);
        }
    }

    /** {@code layer,head,<detector>...} with one row per head. */
    public static String csv(HeadScoreTable t) {
        StringBuilder sb = new StringBuilder("layer,head");
        for (String d : t.detectors()) {
            sb.append(',').append(d);
        }
        sb.append('\n');
        for (int l = 0; l < t.nLayers(); l++) {
            for (int h = 0; h < t.nHeads(); h++) {
                sb.append(l).append(',').append(h);
                for (String d : t.detectors()) {
                    double v = t.score(d, l, h);
                    sb.append(',').append(Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6f", v));
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    /** A Markdown summary: the top heads of each detector. */
    public static String markdown(HeadScoreTable t) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Head report: ").append(t.model()).append("\n\n");
        sb.append(t.nLayers()).append(" layers x ").append(t.nHeads()).append(" heads.\n\n");
        sb.append("| detector | top heads (score) |\n|---|---|\n");
        for (String d : t.detectors()) {
            sb.append("| ").append(d).append(" | ");
            List<LayerHeadScores.Entry> top = t.top(d, TOP_K);
            for (int i = 0; i < top.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(top.get(i).label())
                        .append(String.format(Locale.ROOT, " (%.3f)", top.get(i).value()));
            }
            sb.append(" |\n");
        }
        return sb.toString();
    }

    /** The self-contained HTML page. */
    public static String html(HeadScoreTable t, AttentionExample example) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Head report: ")
                .append(esc(t.model())).append("</title>\n<style>")
                .append("body{font-family:sans-serif;margin:24px;color:#222}h2{margin-top:32px}")
                .append(".grid{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}")
                .append("figcaption{font-size:13px;margin-top:4px}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head><body>\n");
        sb.append("<h1>Head report: ").append(esc(t.model())).append("</h1>\n<p>").append(t.nLayers())
                .append(" layers &times; ").append(t.nHeads()).append(" heads. Darker = higher score.</p>\n");
        sb.append("<h2>Scores per head</h2>\n<div class=\"grid\">\n");
        for (String d : t.detectors()) {
            sb.append("<figure>").append(heatmap(t, d)).append("<figcaption>").append(esc(d))
                    .append(" (top: ");
            List<LayerHeadScores.Entry> top = t.top(d, 3);
            for (int i = 0; i < top.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(top.get(i).label())
                        .append(String.format(Locale.ROOT, " %.2f", top.get(i).value()));
            }
            sb.append(")</figcaption></figure>\n");
        }
        sb.append("</div>\n");
        if (example != null && !example.patterns().isEmpty()) {
            sb.append("<h2>Attention patterns of the top heads</h2>\n<p>Prompt: <code>")
                    .append(esc(String.join("|", example.tokens()))).append("</code>. Rows are query positions, "
                            + "columns key positions.</p>\n<div class=\"grid\">\n");
            for (Map.Entry<String, double[][]> e : example.patterns().entrySet()) {
                sb.append("<figure>").append(patternSvg(e.getValue(), example.tokens())).append("<figcaption>")
                        .append(esc(e.getKey())).append("</figcaption></figure>\n");
            }
            sb.append("</div>\n");
        }
        sb.append("<h2>Top heads</h2>\n<table><tr><th>detector</th><th>head</th><th>score</th></tr>\n");
        for (String d : t.detectors()) {
            for (LayerHeadScores.Entry h : t.top(d, TOP_K)) {
                sb.append("<tr><td>").append(esc(d)).append("</td><td>").append(h.label()).append("</td><td>")
                        .append(String.format(Locale.ROOT, "%.4f", h.value())).append("</td></tr>\n");
            }
        }
        sb.append("</table>\n</body></html>\n");
        return sb.toString();
    }

    /** A layer (rows) x head (columns) heatmap of one detector; the colour scale spans [min(0, lo), max(1, hi)]. */
    static String heatmap(HeadScoreTable t, String detector) {
        double[][] v = t.scores(detector).toArray();
        double lo = 0;
        double hi = 1;
        for (double[] row : v) {
            for (double x : row) {
                if (!Double.isNaN(x)) {
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
            }
        }
        int left = 34;
        int topPad = 18;
        int w = left + t.nHeads() * CELL;
        int h = topPad + t.nLayers() * CELL;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "role=\"img\" aria-label=\"%s\">", w, h, esc(detector)));
        for (int hd = 0; hd < t.nHeads(); hd++) {
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"13\" font-size=\"11\" text-anchor=\"middle\">H%d</text>",
                    left + hd * CELL + CELL / 2, hd));
        }
        for (int l = 0; l < t.nLayers(); l++) {
            sb.append(String.format(Locale.ROOT, "<text x=\"2\" y=\"%d\" font-size=\"11\">L%d</text>",
                    topPad + l * CELL + CELL / 2 + 4, l));
            for (int hd = 0; hd < t.nHeads(); hd++) {
                double x = v[l][hd];
                String fill = Double.isNaN(x) ? "#eeeeee" : colour((x - lo) / (hi - lo));
                sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                        + "<title>L%dH%d: %s</title></rect>", left + hd * CELL, topPad + l * CELL, CELL - 1, CELL - 1,
                        fill, l, hd, Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.4f", x)));
            }
        }
        return sb.append("</svg>").toString();
    }

    /** A query x key attention pattern with token labels. */
    static String patternSvg(double[][] p, List<String> tokens) {
        int n = tokens.size();
        int cell = Math.max(6, Math.min(22, 360 / Math.max(1, n)));
        int left = 70;
        int topPad = 70;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">",
                left + n * cell, topPad + n * cell));
        for (int i = 0; i < n; i++) {
            String label = esc(shorten(tokens.get(i)));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"9\" text-anchor=\"end\">%s</text>",
                    left - 3, topPad + i * cell + cell - 2, label));
            sb.append(String.format(Locale.ROOT, "<text font-size=\"9\" transform=\"translate(%d,%d) rotate(-60)\">%s</text>",
                    left + i * cell + cell - 2, topPad - 3, label));
            for (int j = 0; j < n; j++) {
                sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\">"
                        + "<title>%d &#8594; %d: %.3f</title></rect>", left + j * cell, topPad + i * cell, cell, cell,
                        colour(Math.max(0, Math.min(1, p[i][j]))), i, j, p[i][j]));
            }
        }
        return sb.append("</svg>").toString();
    }

    private static String shorten(String token) {
        String s = token.replace("\n", "\\n");
        return s.length() > 10 ? s.substring(0, 9) + "…" : s;
    }

    /** White (0) to dark blue (1). */
    static String colour(double t) {
        double x = Double.isNaN(t) ? 0 : Math.max(0, Math.min(1, t));
        int r = (int) Math.round(255 - x * (255 - 8));
        int g = (int) Math.round(255 - x * (255 - 48));
        int b = (int) Math.round(255 - x * (255 - 107));
        return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
