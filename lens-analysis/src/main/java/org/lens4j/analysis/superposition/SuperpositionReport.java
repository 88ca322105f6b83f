package org.lens4j.analysis.superposition;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Turns {@link ExperimentResult}s into files: SVG pictures per experiment and CSV tables of the
 * numbers, plus a short text summary.
 *
 * <p>Tables: {@code features.csv} (one row per experiment, instance and feature: norm,
 * interference, dimensionality, angle), {@code instances.csv} (one row per instance: loss,
 * represented features, dimensions per feature, neighbour angles, training time) and {@code
 * antipodal-pairs.csv}.
 */
public final class SuperpositionReport {
    /** A feature counts as represented when its norm {@code ||W_i||} exceeds this. */
    public static final double REPRESENTED_NORM = 0.5;
    /** Larger models get no per-feature heatmaps and bars: they would not be readable. */
    private static final int MAX_FEATURES_PER_PICTURE = 40;

    private SuperpositionReport() {
    }

    /**
     * Writes the pictures of one experiment into {@code dir} as {@code <name>-<picture>.svg}: W
     * and WᵀW heatmaps and feature norms (up to 40 features), feature arrows ({@code d_hidden =
     * 2}), stacked neuron bars (models with hidden ReLUs) and dimensionality against sparsity
     * (more than one instance).
     *
     * @return the files written
     */
    public static List<Path> writePictures(ExperimentResult result, Path dir) {
        SuperpositionExperiment e = result.experiment();
        FeatureGeometry g = result.geometry();
        List<String> titles = panelTitles(e.config());
        String about = String.format(Locale.ROOT, "%s: %s, n_features = %d, d_hidden = %d", e.name(),
                e.config().kind().id(), e.config().nFeatures(), e.config().dHidden());
        List<Path> written = new ArrayList<>();
        if (g.nFeatures() <= MAX_FEATURES_PER_PICTURE) {
            written.add(write(dir, e.name() + "-W.svg",
                    SuperpositionPlots.weightHeatmaps(g, titles, about + ": W")));
            written.add(write(dir, e.name() + "-WtW.svg",
                    SuperpositionPlots.gramHeatmaps(g, titles, about + ": WᵀW")));
            written.add(write(dir, e.name() + "-norms.svg",
                    SuperpositionPlots.featureNorms(g, titles, about + ": feature norms")));
        }
        if (g.dHidden() == 2) {
            written.add(write(dir, e.name() + "-arrows.svg",
                    SuperpositionPlots.featureArrows(g, titles, about + ": feature directions")));
        }
        if (e.config().kind() != ToyModelKind.RELU_OUTPUT
                && g.nFeatures() <= MAX_FEATURES_PER_PICTURE) {
            written.add(write(dir, e.name() + "-neurons.svg", SuperpositionPlots.neuronStackedBars(
                    g, titles, about + ": neuron weights by feature")));
        }
        if (g.nInstances() > 1) {
            written.add(write(dir, e.name() + "-dimensionality.svg",
                    SuperpositionPlots.dimensionalityVsSparsity(g, probabilities(e.config()),
                            about + ": dimensionality against sparsity")));
        }
        return written;
    }

    /**
     * Writes {@code features.csv}, {@code instances.csv} and {@code antipodal-pairs.csv} for all
     * results into {@code dir}.
     *
     * @return the files written
     */
    public static List<Path> writeCsv(List<ExperimentResult> results, Path dir) {
        StringBuilder features = new StringBuilder("experiment,model,instance,feature_probability,"
                + "feature,importance,norm,interference,dimensionality,angle_deg\n");
        StringBuilder instances = new StringBuilder("experiment,model,instance,"
                + "feature_probability,loss,chosen_restart,restarts,represented_features,"
                + "dimensions_per_feature,neighbour_angles_deg,training_seconds,steps\n");
        StringBuilder pairs = new StringBuilder("experiment,instance,feature_probability,feature,"
                + "neuron_a,neuron_b,cosine,input_weight_a,input_weight_b,output_weight_a,"
                + "output_weight_b\n");
        for (ExperimentResult r : results) {
            SuperpositionExperiment e = r.experiment();
            ToyModelConfig c = e.config();
            FeatureGeometry g = r.geometry();
            float[][] norms = g.norms();
            float[][] interference = g.interference();
            float[][] dims = g.dimensionality();
            for (int inst = 0; inst < c.nInstances(); inst++) {
                double[] angles = g.dHidden() == 2 ? g.angles(inst) : null;
                for (int f = 0; f < c.nFeatures(); f++) {
                    features.append(row(e.name(), c.kind().id(), inst,
                            c.featureProbability(inst, f), f, c.importance(inst, f),
                            norms[inst][f], interference[inst][f], dims[inst][f],
                            angles == null ? "" : angles[f]));
                }
                instances.append(row(e.name(), c.kind().id(), inst, c.featureProbability(inst, 0),
                        r.loss()[inst], r.chosenRestart()[inst], e.restarts(),
                        g.representedFeatures(inst, REPRESENTED_NORM),
                        g.dimensionsPerFeature(inst),
                        g.dHidden() == 2 ? join(g.neighbourAngles(inst, REPRESENTED_NORM)) : "",
                        r.elapsed().toMillis() / 1000.0, e.options().steps()));
            }
            for (AntipodalPair p : r.antipodalPairs()) {
                pairs.append(row(e.name(), p.instance(), c.featureProbability(p.instance(), 0),
                        p.feature(), p.neuronA(), p.neuronB(), p.cosine(), p.inputWeightA(),
                        p.inputWeightB(), p.outputWeightA(), p.outputWeightB()));
            }
        }
        return List.of(write(dir, "features.csv", features.toString()),
                write(dir, "instances.csv", instances.toString()),
                write(dir, "antipodal-pairs.csv", pairs.toString()));
    }

    /**
     * A few lines describing one result: per instance its feature probability, loss and feature
     * norms (with neighbour angles when {@code d_hidden = 2}), and the antipodal pairs found.
     */
    public static String summary(ExperimentResult r) {
        SuperpositionExperiment e = r.experiment();
        FeatureGeometry g = r.geometry();
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "%s (%s, %d features, d_hidden %d, %d restarts x %d steps): trained in %.1f s%n",
                e.name(), e.config().kind().id(), g.nFeatures(), g.dHidden(), e.restarts(),
                e.options().steps(), r.elapsed().toMillis() / 1000.0));
        float[][] norms = g.norms();
        for (int inst = 0; inst < g.nInstances(); inst++) {
            s.append(String.format(Locale.ROOT, "  p=%-7s loss %.3e  represented %d/%d",
                    e.config().featureProbability(inst, 0), r.loss()[inst],
                    g.representedFeatures(inst, REPRESENTED_NORM), g.nFeatures()));
            if (g.nFeatures() <= 10) {
                s.append("  norms ").append(join(norms[inst]));
            }
            if (g.dHidden() == 2) {
                s.append("  neighbour angles ").append(join(g.neighbourAngles(inst,
                        REPRESENTED_NORM)));
            }
            s.append(System.lineSeparator());
        }
        if (e.config().kind() == ToyModelKind.NEURON_COMPUTATION) {
            s.append(String.format(Locale.ROOT, "  antipodal pairs (cosine < %.1f): %d%n",
                    AntipodalPair.DEFAULT_MAX_COSINE, r.antipodalPairs().size()));
        }
        return s.toString();
    }

    private static List<String> panelTitles(ToyModelConfig c) {
        List<String> titles = new ArrayList<>();
        for (int inst = 0; inst < c.nInstances(); inst++) {
            titles.add("1 - S = " + c.featureProbability(inst, 0));
        }
        return titles;
    }

    private static double[] probabilities(ToyModelConfig c) {
        double[] p = new double[c.nInstances()];
        for (int inst = 0; inst < p.length; inst++) {
            p[inst] = c.featureProbability(inst, 0);
        }
        return p;
    }

    private static String row(Object... values) {
        return Arrays.stream(values).map(String::valueOf)
                .collect(Collectors.joining(",", "", "\n"));
    }

    private static String join(double[] values) {
        return Arrays.stream(values).mapToObj(v -> String.format(Locale.ROOT, "%.1f", v))
                .collect(Collectors.joining(";"));
    }

    private static String join(float[] values) {
        StringBuilder s = new StringBuilder();
        for (float v : values) {
            s.append(s.length() == 0 ? "" : ";").append(String.format(Locale.ROOT, "%.3f", v));
        }
        return s.toString();
    }

    private static Path write(Path dir, String file, String content) {
        Path path = dir.resolve(file);
        try {
            Files.createDirectories(dir);
            Files.writeString(path, content, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
        return path;
    }
}
