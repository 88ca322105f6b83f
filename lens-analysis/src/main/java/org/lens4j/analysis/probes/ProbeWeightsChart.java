package org.lens4j.analysis.probes;

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
    /** Above this many neurons the neuron axis has no tick labels (they would overlap). */
    private static final int MAX_LABELLED_NEURONS = 64;

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

    private static Chart<?, ?> chart(LinearProbe probe) {
        String title = "probe weights at " + probe.hook() + " (" + probe.metadata().getOrDefault("feature",
                String.join(" / ", probe.classNames())) + ")";
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
            chart.getStyler().setXAxisTicksVisible(d <= MAX_LABELLED_NEURONS);
            chart.getStyler().setAvailableSpaceFill(0.9);
            return chart;
        }
        HeatMapChart chart = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT).title(title).build();
        List<Number[]> cells = new ArrayList<>();
        float[][] weights = probe.weights();
        for (int j = 0; j < d; j++) {
            for (int c = 0; c < probe.numDirections(); c++) {
                cells.add(new Number[] {j, c, weights[j][c]});
            }
        }
        chart.addSeries("weight", neurons, probe.classNames(), cells);
        chart.getStyler().setXAxisTicksVisible(d <= MAX_LABELLED_NEURONS);
        chart.getStyler().setXAxisTitleVisible(true);
        chart.setXAxisTitle("neuron");
        return chart;
    }
}
