package org.lens4j.analysis.probes;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * A picture of a probe's weights: a bar per neuron for a binary probe, a heat map (class x neuron) for
 * a multi-class probe. Rendered with XChart, headless.
 */
public final class ProbeWeightsChart {

    /** Width of the picture in pixels. */
    public static final int WIDTH = 1000;
    /** Height of the picture in pixels. */
    public static final int HEIGHT = 400;
    /** Most tick labels on the neuron axis (more would overlap). */
    private static final int MAX_NEURON_LABELS = 20;

    private ProbeWeightsChart() {}

    /** The picture of a probe's weights, {@link #WIDTH} x {@link #HEIGHT}. */
    public static BufferedImage image(LinearProbe probe) {
        return BitmapEncoder.getBufferedImage(chart(probe));
    }

    /**
     * Writes the picture as a PNG file.
     *
     * @param probe the probe
     * @param png the file to write (its directory is created if needed)
     * @throws IOException if it cannot be written
     */
    public static void writePng(LinearProbe probe, Path png) throws IOException {
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (var out = Files.newOutputStream(png)) {
            BitmapEncoder.saveBitmap(chart(probe), out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /** Long names (a token-in list) would push the plot out of the picture. */
    private static String shorten(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 3) + "...";
    }

    private static Chart<?, ?> chart(LinearProbe probe) {
        String title = "probe weights at " + probe.hook() + " (" + shorten(probe.metadata().getOrDefault("feature",
                String.join(" | ", probe.classNames())), 60) + ")";
        int d = probe.dim();
        List<Integer> neurons = IntStream.range(0, d).boxed().toList();
        if (probe.numDirections() == 1) {
            CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                    .xAxisTitle("neuron").yAxisTitle("weight").build();
            float[] w = probe.direction();
            List<Double> values = new ArrayList<>();
            for (float v : w) {
                values.add((double) v);
            }
            chart.addSeries(probe.classNames().get(1), neurons, values);
            chart.getStyler().setLegendVisible(false);
            chart.getStyler().setXAxisMaxLabelCount(MAX_NEURON_LABELS);
            chart.getStyler().setPlotGridVerticalLinesVisible(false);
            chart.getStyler().setAvailableSpaceFill(0.9);
            return chart;
        }
        HeatMapChart chart = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT).title(title).build();
        List<Number[]> cells = new ArrayList<>();
        float[][] weights = probe.weights();
        double largest = 1e-12;
        for (int j = 0; j < d; j++) {
            for (int c = 0; c < probe.numDirections(); c++) {
                cells.add(new Number[] {j, c, weights[j][c]});
                largest = Math.max(largest, Math.abs(weights[j][c]));
            }
        }
        // a diverging scale centred on zero: blue negative, white zero, red positive
        chart.getStyler().setRangeColors(new Color[] {new Color(0x2166ac), Color.WHITE, new Color(0xb2182b)});
        chart.getStyler().setMin(-largest);
        chart.getStyler().setMax(largest);
        chart.getStyler().setHeatMapValueDecimalPattern("0.###");
        List<String> classes = probe.classNames().stream().map(c -> shorten(c, 16)).toList();
        chart.addSeries("weight", neurons, classes, cells);
        chart.getStyler().setXAxisMaxLabelCount(MAX_NEURON_LABELS);
        chart.getStyler().setXAxisTitleVisible(true);
        chart.setXAxisTitle("neuron");
        return chart;
    }
}
