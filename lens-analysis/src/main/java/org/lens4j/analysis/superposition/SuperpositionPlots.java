package org.lens4j.analysis.superposition;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Draws the pictures of Elhage et al. 2022 as SVG documents, one panel per model instance.
 *
 * <p>Weights use a diverging scale (red negative, white zero, blue positive); interference uses
 * viridis from 0 (dark purple, orthogonal to every other feature) to 1 or more (yellow).
 */
public final class SuperpositionPlots {
    private static final double MARGIN = 30;
    private static final double TITLE_HEIGHT = 40;
    private static final double PANEL_TITLE = 18;
    private static final int PANELS_PER_ROW = 7;
    /** Approximate width of one character of a 14 px title. */
    private static final double TITLE_CHAR_WIDTH = 7.5;
    /** Approximate width of one character of a 10 px footer. */
    private static final double FOOTER_CHAR_WIDTH = 5.5;
    private static final String[] VIRIDIS = {"#440154", "#482878", "#3e4989", "#31688e",
        "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"};
    private static final String[] CATEGORICAL = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
        "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

    private SuperpositionPlots() {
    }

    /**
     * Heatmaps of {@code W} per instance: rows are hidden dimensions (neurons), columns features.
     *
     * @param panelTitles one title per instance
     */
    public static String weightHeatmaps(FeatureGeometry g, List<String> panelTitles, String title) {
        return heatmaps(g.weights(), panelTitles, title, "features", "hidden");
    }

    /**
     * Heatmaps of {@code WᵀW} per instance, {@code [features, features]}: the diagonal holds the
     * squared norms, the rest the overlaps between features.
     *
     * @param panelTitles one title per instance
     */
    public static String gramHeatmaps(FeatureGeometry g, List<String> panelTitles, String title) {
        return heatmaps(g.gram(), panelTitles, title, "features", "features");
    }

    /**
     * The feature directions {@code W_i} as arrows in the hidden plane, per instance, with the
     * unit circle for scale; arrows are numbered by feature and coloured by feature index.
     *
     * @param panelTitles one title per instance
     * @throws IllegalArgumentException if {@code d_hidden != 2}
     */
    public static String featureArrows(FeatureGeometry g, List<String> panelTitles, String title) {
        if (g.dHidden() != 2) {
            throw new IllegalArgumentException(
                    "feature arrows need d_hidden = 2, got " + g.dHidden());
        }
        checkTitles(g, panelTitles);
        double size = 170;
        int legendEntries = Math.min(g.nFeatures(), CATEGORICAL.length);
        Grid grid = new Grid(g.nInstances(), size, size, 60 * legendEntries);
        Svg svg = grid.canvas(title, "");
        float[][][] w = g.weights();
        double scale = (size / 2 - 12) / Math.max(1.0, maxAbs(g.norms()));
        for (int inst = 0; inst < g.nInstances(); inst++) {
            double cx = grid.x(inst) + size / 2;
            double cy = grid.y(inst) + size / 2;
            grid.panelTitle(svg, inst, panelTitles.get(inst));
            svg.frame(grid.x(inst), grid.y(inst), size, size);
            svg.circle(cx, cy, scale, "none", "#ccc");
            svg.line(grid.x(inst), cy, grid.x(inst) + size, cy, "#ddd", 0.5);
            svg.line(cx, grid.y(inst), cx, grid.y(inst) + size, "#ddd", 0.5);
            for (int i = 0; i < g.nFeatures(); i++) {
                double x = cx + scale * w[inst][0][i];
                double y = cy - scale * w[inst][1][i];
                String colour = CATEGORICAL[i % CATEGORICAL.length];
                svg.arrow(cx, cy, x, y, colour);
                double length = Math.hypot(x - cx, y - cy);
                if (length > 12) { // labels of near-zero features would pile up at the centre
                    svg.text(x + 8 * (x - cx) / length, y + 8 * (y - cy) / length + 3,
                            Integer.toString(i), 9, "middle");
                }
            }
        }
        double legendY = grid.height() - 12;
        for (int i = 0; i < legendEntries; i++) {
            svg.rect(MARGIN + 60 * i, legendY - 8, 10, 10, CATEGORICAL[i]);
            svg.text(MARGIN + 60 * i + 14, legendY, "feature " + i, 9, "start");
        }
        return svg.toString();
    }

    /**
     * Horizontal bars of the feature norms {@code ||W_i||} per instance, coloured by the
     * feature's interference.
     *
     * @param panelTitles one title per instance
     */
    public static String featureNorms(FeatureGeometry g, List<String> panelTitles, String title) {
        checkTitles(g, panelTitles);
        double barHeight = Math.max(3, Math.min(14, 200.0 / g.nFeatures()));
        double width = 150;
        double height = barHeight * g.nFeatures();
        Grid grid = new Grid(g.nInstances(), width, height, 0);
        Svg svg = grid.canvas(title, "bars: ||W_i|| for features 0 (top) to "
                + (g.nFeatures() - 1) + "; grey line: norm 1; colour: interference"
                + " (viridis, 0 to 1)");
        float[][] norms = g.norms();
        float[][] interference = g.interference();
        double max = Math.max(1.0, maxAbs(norms));
        for (int inst = 0; inst < g.nInstances(); inst++) {
            grid.panelTitle(svg, inst, panelTitles.get(inst));
            svg.frame(grid.x(inst), grid.y(inst), width, height);
            for (int i = 0; i < g.nFeatures(); i++) {
                svg.rect(grid.x(inst), grid.y(inst) + i * barHeight + 0.5,
                        width * norms[inst][i] / max, barHeight - 1,
                        viridis(interference[inst][i]));
            }
            double unit = grid.x(inst) + width / max;
            svg.line(unit, grid.y(inst), unit, grid.y(inst) + height, "#888", 0.5);
        }
        return svg.toString();
    }

    /**
     * Stacked bars per hidden neuron, one segment per feature of height {@code W[n, i]} (positive
     * segments stacked upwards, negative ones downwards), coloured by the feature's interference:
     * purple segments are features the neuron carries alone, yellow ones are in superposition.
     * Each panel is scaled to its tallest stack, whose height is printed below it.
     *
     * @param panelTitles one title per instance
     */
    public static String neuronStackedBars(FeatureGeometry g, List<String> panelTitles,
            String title) {
        checkTitles(g, panelTitles);
        double width = Math.max(120, 14.0 * g.dHidden());
        double height = 200;
        float[][][] w = g.weights();
        float[][] interference = g.interference();
        Grid grid = new Grid(g.nInstances(), width, height, 0);
        Svg svg = grid.canvas(title, "one bar per neuron; segments: W[neuron, feature], each panel"
                + " scaled to its tallest stack (height below it); colour: the feature's"
                + " interference (viridis, 0 to 1)");
        double barWidth = width / g.dHidden();
        for (int inst = 0; inst < g.nInstances(); inst++) {
            // Scaled per panel: one large neuron would otherwise flatten every other panel.
            double extent = 1e-6;
            for (float[] row : w[inst]) {
                double up = 0;
                double down = 0;
                for (float v : row) {
                    up += Math.max(v, 0);
                    down -= Math.min(v, 0);
                }
                extent = Math.max(extent, Math.max(up, down));
            }
            double scale = (height / 2) / extent;
            grid.panelTitle(svg, inst, panelTitles.get(inst));
            svg.frame(grid.x(inst), grid.y(inst), width, height);
            svg.text(grid.x(inst), grid.y(inst) + height + 11,
                    String.format(Locale.ROOT, "±%.2f", extent), 9, "start");
            double zero = grid.y(inst) + height / 2;
            for (int n = 0; n < g.dHidden(); n++) {
                double x = grid.x(inst) + n * barWidth + 0.1 * barWidth;
                double up = zero;
                double down = zero;
                for (int i = 0; i < g.nFeatures(); i++) {
                    double h = scale * w[inst][n][i];
                    String colour = viridis(interference[inst][i]);
                    if (h > 0) {
                        up -= h;
                        svg.rect(x, up, 0.8 * barWidth, h, colour);
                    } else if (h < 0) {
                        svg.rect(x, down, 0.8 * barWidth, -h, colour);
                        down -= h;
                    }
                }
            }
            svg.line(grid.x(inst), zero, grid.x(inst) + width, zero, "#888", 0.5);
        }
        return svg.toString();
    }

    /**
     * Dimensions per feature {@code d_hidden / ||W||_F²} (line) and each feature's
     * dimensionality {@code D_i} (dots) against {@code 1 / (1 - S)}, the inverse feature
     * probability, on a log axis; dashed lines mark the fractions 1, 1/2, 2/5 and 1/3.
     *
     * @param featureProbability the feature probability of each instance, {@code [instances]}
     */
    public static String dimensionalityVsSparsity(FeatureGeometry g, double[] featureProbability,
            String title) {
        if (featureProbability.length != g.nInstances()) {
            throw new IllegalArgumentException("need one feature probability per instance ("
                    + g.nInstances() + "), got " + featureProbability.length);
        }
        double minX = Double.MAX_VALUE;
        double maxX = -Double.MAX_VALUE;
        for (double p : featureProbability) {
            if (!(p > 0 && p <= 1)) {
                throw new IllegalArgumentException("feature probabilities must be in (0, 1], got "
                        + p);
            }
            minX = Math.min(minX, Math.log10(1 / p));
            maxX = Math.max(maxX, Math.log10(1 / p));
        }
        if (maxX - minX < 1e-9) {
            minX -= 0.5;
            maxX += 0.5;
        }
        double[] perFeature = new double[g.nInstances()];
        double maxY = 1;
        for (int inst = 0; inst < g.nInstances(); inst++) {
            perFeature[inst] = g.dimensionsPerFeature(inst);
            maxY = Math.max(maxY, Math.min(perFeature[inst], 2));
        }
        maxY *= 1.05;
        double left = 60;
        double top = TITLE_HEIGHT;
        double plotW = Math.max(520, title.length() * TITLE_CHAR_WIDTH - left);
        double plotH = 300;
        Svg svg = new Svg(left + plotW + 30, top + plotH + 60);
        svg.text(left + plotW / 2, 24, title, 14, "middle");
        svg.frame(left, top, plotW, plotH);
        Axis ax = new Axis(left, top, plotW, plotH, minX, maxX, maxY);
        for (double fraction : new double[] {1, 0.5, 0.4, 1.0 / 3}) {
            double y = ax.y(fraction);
            for (double x = left; x < left + plotW; x += 8) {
                svg.line(x, y, x + 4, y, "#bbb", 0.7);
            }
            svg.text(left + plotW + 4, y + 3, fraction == 0.4 ? "2/5"
                    : fraction == 1.0 / 3 ? "1/3" : fraction == 0.5 ? "1/2" : "1", 9, "start");
        }
        float[][] dims = g.dimensionality();
        for (int inst = 0; inst < g.nInstances(); inst++) {
            double x = ax.x(Math.log10(1 / featureProbability[inst]));
            for (float d : dims[inst]) {
                svg.circle(x, ax.y(d), 2, "#1f77b4", "none");
            }
        }
        Integer[] order = new Integer[g.nInstances()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(featureProbability[b],
                featureProbability[a]));
        double[] xs = new double[order.length];
        double[] ys = new double[order.length];
        for (int k = 0; k < order.length; k++) {
            xs[k] = ax.x(Math.log10(1 / featureProbability[order[k]]));
            ys[k] = ax.y(Math.min(perFeature[order[k]], maxY));
        }
        svg.polyline(xs, ys, "black", 1.5);
        for (int decade = (int) Math.ceil(minX); decade <= Math.floor(maxX); decade++) {
            double x = ax.x(decade);
            svg.line(x, top + plotH, x, top + plotH + 4, "black", 1);
            svg.text(x, top + plotH + 16, String.format(Locale.ROOT, "%.0f", Math.pow(10, decade)),
                    10, "middle");
        }
        for (double tick = 0; tick <= maxY; tick += 0.25) {
            double y = ax.y(tick);
            svg.line(left - 4, y, left, y, "black", 1);
            svg.text(left - 6, y + 3, String.format(Locale.ROOT, "%.2f", tick), 10, "end");
        }
        svg.text(left + plotW / 2, top + plotH + 34, "1 / (1 - S) = 1 / feature probability",
                11, "middle");
        svg.verticalText(18, top + plotH / 2, "dimensions per feature", 11);
        svg.text(left, top + plotH + 52, "line: d_hidden / ||W||_F^2;  dots: feature"
                + " dimensionality D_i", 10, "start");
        return svg.toString();
    }

    private static String heatmaps(float[][][] matrices, List<String> panelTitles, String title,
            String columns, String rows) {
        if (panelTitles.size() != matrices.length) {
            throw new IllegalArgumentException("need one panel title per instance ("
                    + matrices.length + "), got " + panelTitles.size());
        }
        int nRows = matrices[0].length;
        int nCols = matrices[0][0].length;
        double cell = Math.max(2, Math.min(18, 160.0 / nCols));
        double width = cell * nCols;
        double height = cell * nRows;
        double max = 1e-6;
        for (float[][] m : matrices) {
            max = Math.max(max, maxAbs(m));
        }
        Grid grid = new Grid(matrices.length, width, height, 0);
        Svg svg = grid.canvas(title, String.format(Locale.ROOT, "columns: %s, rows: %s;"
                + " red -%.2f, white 0, blue +%.2f", columns, rows, max, max));
        for (int inst = 0; inst < matrices.length; inst++) {
            grid.panelTitle(svg, inst, panelTitles.get(inst));
            for (int r = 0; r < nRows; r++) {
                for (int c = 0; c < nCols; c++) {
                    svg.rect(grid.x(inst) + c * cell, grid.y(inst) + r * cell, cell, cell,
                            diverging(matrices[inst][r][c] / max));
                }
            }
            svg.frame(grid.x(inst), grid.y(inst), width, height);
        }
        return svg.toString();
    }

    private static double maxAbs(float[][] values) {
        double max = 0;
        for (float[] row : values) {
            for (float v : row) {
                max = Math.max(max, Math.abs(v));
            }
        }
        return max;
    }

    private static void checkTitles(FeatureGeometry g, List<String> panelTitles) {
        if (panelTitles.size() != g.nInstances()) {
            throw new IllegalArgumentException("need one panel title per instance ("
                    + g.nInstances() + "), got " + panelTitles.size());
        }
    }

    /** Viridis at {@code t}, clamped to [0, 1]. */
    static String viridis(double t) {
        double x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
        int i = Math.min((int) x, VIRIDIS.length - 2);
        return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
    }

    /** Red for -1, white for 0, blue for +1 (clamped). */
    static String diverging(double t) {
        double x = Math.max(-1, Math.min(1, t));
        return x < 0 ? mix("#ffffff", "#b2182b", -x) : mix("#ffffff", "#2166ac", x);
    }

    private static String mix(String a, String b, double t) {
        int ca = Integer.parseInt(a.substring(1), 16);
        int cb = Integer.parseInt(b.substring(1), 16);
        int rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            int va = (ca >> shift) & 0xff;
            int vb = (cb >> shift) & 0xff;
            rgb |= ((int) Math.round(va + (vb - va) * t)) << shift;
        }
        return String.format("#%06x", rgb);
    }

    /** Panels laid out in rows of at most {@link #PANELS_PER_ROW}, below a title. */
    private static final class Grid {
        private final int columns;
        private final int rows;
        private final double panelWidth;
        private final double panelHeight;
        private final double minWidth;

        Grid(int panels, double panelWidth, double panelHeight, double minWidth) {
            this.columns = Math.min(panels, PANELS_PER_ROW);
            this.rows = (panels + PANELS_PER_ROW - 1) / PANELS_PER_ROW;
            this.panelWidth = panelWidth;
            this.panelHeight = panelHeight;
            this.minWidth = minWidth;
        }

        double x(int panel) {
            return MARGIN + (panel % columns) * (panelWidth + MARGIN);
        }

        double y(int panel) {
            return TITLE_HEIGHT + PANEL_TITLE + (panel / columns) * (panelHeight + PANEL_TITLE
                    + MARGIN);
        }

        double height() {
            return TITLE_HEIGHT + rows * (panelHeight + PANEL_TITLE + MARGIN) + 20;
        }

        /** A canvas wide enough for the panels, the title and the footer line, with both drawn. */
        Svg canvas(String title, String footer) {
            double text = Math.max(title.length() * TITLE_CHAR_WIDTH,
                    footer.length() * FOOTER_CHAR_WIDTH);
            double width = Math.max(Math.max(minWidth, text) + 2 * MARGIN,
                    MARGIN + columns * (panelWidth + MARGIN));
            Svg svg = new Svg(width, height());
            svg.text(width / 2, 24, title, 14, "middle");
            if (!footer.isEmpty()) {
                svg.text(MARGIN, height() - 6, footer, 10, "start");
            }
            return svg;
        }

        void panelTitle(Svg svg, int panel, String text) {
            svg.text(x(panel) + panelWidth / 2, y(panel) - 5, text, 11, "middle");
        }
    }

    /** Maps log10(1/p) and dimensions per feature onto the plot area. */
    private static final class Axis {
        private final double left;
        private final double top;
        private final double width;
        private final double height;
        private final double minX;
        private final double maxX;
        private final double maxY;

        Axis(double left, double top, double width, double height, double minX, double maxX,
                double maxY) {
            this.left = left;
            this.top = top;
            this.width = width;
            this.height = height;
            this.minX = minX;
            this.maxX = maxX;
            this.maxY = maxY;
        }

        double x(double logInverseP) {
            return left + 10 + (width - 20) * (logInverseP - minX) / (maxX - minX);
        }

        double y(double value) {
            return top + height * (1 - value / maxY);
        }
    }
}
