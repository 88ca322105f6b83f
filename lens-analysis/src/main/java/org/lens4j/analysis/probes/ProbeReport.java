package org.lens4j.analysis.probes;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One probing experiment, start to finish: split a probing set by sequence, balance the classes,
 * train a probe, measure it on the held-out sequences, compare it with the best single neuron, and
 * look at its direction in the neuron basis.
 *
 * <pre>{@code
 * ProbeReport report = ProbeReport.run(set, ProbeOptions.DEFAULT);
 * System.out.println(report.summary());
 * report.probe().save(dir);
 * }</pre>
 *
 * @param options the options it ran with
 * @param trainSet the training rows (after balancing)
 * @param testSet the held-out rows (after balancing); no sequence is also in {@code trainSet}
 * @param probe the trained probe
 * @param train the probe's metrics on the training rows
 * @param test the probe's metrics on the held-out rows
 * @param baseline the best single neuron
 * @param neuronBasis one analysis per probe direction (one for a binary probe, C otherwise)
 */
public record ProbeReport(ProbeOptions options, ProbingSet trainSet, ProbingSet testSet, LinearProbe probe,
        ClassificationMetrics train, ClassificationMetrics test, SingleNeuronBaseline baseline,
        List<NeuronBasis> neuronBasis) {

    /** How many of the largest weights each {@link NeuronBasis} lists. */
    public static final int TOP_NEURONS = 10;

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /**
     * Runs the experiment.
     *
     * @param set the labelled activations
     * @param options split, balancing and training settings
     * @throws IllegalArgumentException if there are too few sequences to split, or a class is missing
     *     from the training or the test sequences (the message names the class)
     */
    public static ProbeReport run(ProbingSet set, ProbeOptions options) {
        ProbingSet.Split split = set.split(options.testFraction(), options.seed());
        ProbingSet trainSet = options.balance() ? split.train().balanced(options.seed()) : split.train();
        ProbingSet testSet = options.balance() ? split.test().balanced(options.seed() + 1) : split.test();
        requireEveryClass(testSet, "test");
        LinearProbe probe = ProbeTrainer.train(trainSet, options);
        List<NeuronBasis> basis = new ArrayList<>();
        for (int i = 0; i < probe.numDirections(); i++) {
            basis.add(NeuronBasis.of(probe.direction(i), TOP_NEURONS));
        }
        return new ProbeReport(options, trainSet, testSet, probe, probe.evaluate(trainSet), probe.evaluate(testSet),
                SingleNeuronBaseline.fit(trainSet, testSet), List.copyOf(basis));
    }

    private static void requireEveryClass(ProbingSet set, String which) {
        int[] counts = set.classCounts();
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("the " + which + " sequences have no row of class '"
                        + set.classNames().get(c) + "' (counts " + Arrays.toString(counts) + "): use more sequences "
                        + "or another test fraction");
            }
        }
    }

    /** The report as JSON: settings, set sizes, metrics, baseline and neuron-basis analysis. */
    public String toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("hook", probe.hook());
        json.addProperty("feature", trainSet.feature());
        JsonArray classes = new JsonArray();
        probe.classNames().forEach(classes::add);
        json.add("classes", classes);
        json.add("options", GSON.toJsonTree(options));
        json.add("train_set", setJson(trainSet));
        json.add("test_set", setJson(testSet));
        JsonObject probeJson = new JsonObject();
        probeJson.add("train", GSON.toJsonTree(train));
        probeJson.add("test", GSON.toJsonTree(test));
        probe.metadata().forEach(probeJson::addProperty);
        json.add("probe", probeJson);
        json.add("single_neuron_baseline", GSON.toJsonTree(baseline));
        json.addProperty("accuracy_gain_over_single_neuron", test.accuracy() - baseline.test().accuracy());
        json.add("neuron_basis", GSON.toJsonTree(neuronBasis));
        return GSON.toJson(json);
    }

    private static JsonObject setJson(ProbingSet set) {
        JsonObject o = new JsonObject();
        o.addProperty("rows", set.size());
        o.addProperty("sequences", set.numSequences());
        JsonArray counts = new JsonArray();
        Arrays.stream(set.classCounts()).forEach(counts::add);
        o.add("class_counts", counts);
        return o;
    }

    /** A few lines for people: sizes, metrics, baseline, and the top neurons of each direction. */
    public String summary() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "probe %s at %s (%s, lambda %s, %s steps, converged %s)%n",
                trainSet.feature(), probe.hook(), options.penalty().name().toLowerCase(Locale.ROOT), options.lambda(),
                probe.metadata().get("steps"), probe.metadata().get("converged")));
        s.append(String.format(Locale.ROOT, "  train: %d rows from %d sequences, classes %s%n", trainSet.size(),
                trainSet.numSequences(), Arrays.toString(trainSet.classCounts())));
        s.append(String.format(Locale.ROOT, "  test:  %d rows from %d sequences, classes %s%n", testSet.size(),
                testSet.numSequences(), Arrays.toString(testSet.classCounts())));
        s.append("  probe train ").append(train).append('\n');
        s.append("  probe test  ").append(test).append('\n');
        s.append(String.format(Locale.ROOT, "  best single neuron %d: test %s%n", baseline.neuron(), baseline.test()));
        for (int i = 0; i < neuronBasis.size(); i++) {
            NeuronBasis b = neuronBasis.get(i);
            String name = neuronBasis.size() == 1 ? "direction" : "direction of '" + probe.classNames().get(i) + "'";
            s.append(String.format(Locale.ROOT, "  %s: %d of %d neurons carry 90%% of the squared weight, %d non-zero;"
                    + " top cosines", name, b.neuronsFor90Percent(), b.dim(), b.nonZero()));
            for (NeuronBasis.NeuronWeight w : b.top().subList(0, Math.min(5, b.top().size()))) {
                s.append(String.format(Locale.ROOT, " n%d %.3f", w.neuron(), w.cosine()));
            }
            s.append('\n');
        }
        return s.toString();
    }
}
