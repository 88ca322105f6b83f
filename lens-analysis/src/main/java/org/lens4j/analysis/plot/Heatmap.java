package org.lens4j.analysis.plot;

import java.awt.Color;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.io.OutputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.style.Styler;
import org.lens4j.analysis.patching.PatchingResult;

/**
 * A heatmap of a two-axis result, e.g. {@code [layer, pos]} (label the positions with the string tokens via
 * {@link PatchingResult#withLabels}) or {@code [layer, head]}: rows are the first axis, top to bottom,
 * columns the second. Colours diverge around a midpoint (default 0), red below and blue above, as
 * TransformerLens notebooks draw patching results. Written as PNG or SVG (XChart) and as CSV.
 *
 * <pre>{@code
 * Heatmap.of(result.withLabels("pos", strTokens)).title("resid_pre patching").writePng(Path.of("resid_pre.png"));
 * }</pre>
 */
public final class Heatmap {

    private static final Color LOW = new Color(178, 24, 43);
    private static final Color MID = Color.WHITE;
    private static final Color HIGH = new Color(33, 102, 172);

    private final PatchingResult result;
    private final String title;
    private final int width;
    private final int height;
    private final double midpoint;
    private final boolean showValues;

    private Heatmap(PatchingResult result, String title, int width, int height, double midpoint, boolean showValues) {
        this.result = result;
        this.title = title;
        this.width = width;
        this.height = height;
        this.midpoint = midpoint;
        this.showValues = showValues;
    }

    /**
     * A heatmap of a result with exactly two axes (take {@link PatchingResult#slice} of a stacked one).
     *
     * @throws IllegalArgumentException for another number of axes
     */
    public static Heatmap of(PatchingResult result) {
        if (result.axisNames().size() != 2) {
            throw new IllegalArgumentException("a heatmap needs a result with 2 axes, not " + result.axisNames()
                    + "; take a slice first");
        }
        return new Heatmap(result, "", 800, 500, 0, false);
    }

    /** This heatmap with a title. */
    public Heatmap title(String t) {
        return new Heatmap(result, Objects.requireNonNull(t, "title"), width, height, midpoint, showValues);
    }

    /** This heatmap with an image size in pixels. */
    public Heatmap size(int w, int h) {
        if (w < 50 || h < 50) {
            throw new IllegalArgumentException("image size " + w + " x " + h + " is too small (50 x 50 at least)");
        }
        return new Heatmap(result, title, w, h, midpoint, showValues);
    }

    /** This heatmap with the white midpoint of the colour scale at {@code m} (e.g. the corrupted metric). */
    public Heatmap midpoint(double m) {
        return new Heatmap(result, title, width, height, m, showValues);
    }

    /** This heatmap with each cell's value written in it. */
    public Heatmap showValues(boolean v) {
        return new Heatmap(result, title, width, height, midpoint, v);
    }

    /** The XChart chart, for further styling. */
    public HeatMapChart chart() {
        String rowAxis = result.axisNames().get(0);
        String colAxis = result.axisNames().get(1);
        List<String> rows = unique(result.labels(rowAxis));
        List<String> cols = unique(result.labels(colAxis));
        HeatMapChart chart = new HeatMapChartBuilder().width(width).height(height).title(title)
                .xAxisTitle(colAxis).yAxisTitle(rowAxis).build();
        // y runs bottom-up in XChart: list rows in reverse so that the first row is drawn at the top
        List<String> yData = new ArrayList<>(rows);
        java.util.Collections.reverse(yData);
        List<Number[]> cells = new ArrayList<>();
        double spread = 0;
        for (int r = 0; r < rows.size(); r++) {
            for (int c = 0; c < cols.size(); c++) {
                double v = result.get(r, c);
                spread = Math.max(spread, Math.abs(v - midpoint));
                cells.add(new Number[] {c, rows.size() - 1 - r, v});
            }
        }
        if (!(spread > 0) || !Double.isFinite(spread)) {
            spread = 1;
        }
        chart.addSeries(title.isEmpty() ? "result" : title, cols, yData, cells);
        // the legend prints the range ends in full: keep them short
        chart.getStyler().setRangeColors(new Color[] {LOW, MID, HIGH}).setMin(round(midpoint - spread, RoundingMode.FLOOR))
                .setMax(round(midpoint + spread, RoundingMode.CEILING)).setShowValue(showValues).setPlotContentSize(1.0)
                .setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setHeatMapValueDecimalPattern("0.00");
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        return chart;
    }

    /** Rounds to 3 significant digits in the given direction, so the scale still covers every value. */
    private static double round(double v, RoundingMode mode) {
        return v == 0 ? 0 : new BigDecimal(v).round(new MathContext(3, mode)).doubleValue();
    }

    /** Repeated labels (a token that occurs twice) would merge cells: number them. */
    private static List<String> unique(List<String> labels) {
        Set<String> seen = new HashSet<>();
        boolean clash = false;
        for (String l : labels) {
            clash |= !seen.add(l);
        }
        if (!clash) {
            return labels;
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            out.add(i + ":" + labels.get(i));
        }
        return out;
    }

    /** Writes a PNG image. */
    public void writePng(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart(), out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /** Writes an SVG image. */
    public void writeSvg(Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            VectorGraphicsEncoder.saveVectorGraphic(chart(), out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
    }

    /**
     * Writes the values as CSV: a header with the two axis names and the column labels, then one line per row
     * (its label, then its values). Values are written exactly ({@link Double#toString}).
     */
    public void writeCsv(Path file) throws IOException {
        String rowAxis = result.axisNames().get(0);
        String colAxis = result.axisNames().get(1);
        List<String> rows = result.labels(rowAxis);
        List<String> cols = result.labels(colAxis);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(csv(rowAxis + "\\" + colAxis));
            for (String c : cols) {
                w.write("," + csv(c));
            }
            w.write("\n");
            for (int r = 0; r < rows.size(); r++) {
                w.write(csv(rows.get(r)));
                for (int c = 0; c < cols.size(); c++) {
                    w.write("," + result.get(r, c));
                }
                w.write("\n");
            }
        }
    }

    /** RFC 4180 quoting where needed (tokens may hold commas, quotes or spaces). */
    private static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r") || !s.equals(s.strip())) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }
}
