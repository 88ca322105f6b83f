package org.lens4j.analysis.superposition;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * One named toy-model setting: a {@link ToyModelConfig}, how many restarts per instance to train
 * and keep the best of, and the {@link TrainingOptions}. Experiments are read from JSON:
 *
 * <pre>{@code
 * {"experiments": [
 *   {"name": "five-features", "model": "relu-output", "n_features": 5, "d_hidden": 2,
 *    "feature_probability": [1.0, 0.1, 0.01], "importance_decay": 0.9,
 *    "restarts": 4, "steps": 10000, "batch_size": 1024, "lr": 0.001,
 *    "warmup_fraction": 0.05, "seed": 0}
 * ]}
 * }</pre>
 *
 * <p>{@code feature_probability} holds one probability per instance. {@code importance} (one
 * value per feature) may replace {@code importance_decay} (importance {@code decay^i}); {@code
 * n_correlated_pairs} and {@code n_anticorrelated_pairs} add feature pairs. All keys but {@code
 * name}, {@code model}, {@code n_features}, {@code d_hidden} and {@code feature_probability} are
 * optional, with the defaults shown above (importance 1, no pairs, 1 restart, seed 0).
 *
 * @param name the experiment's name, used in file names
 * @param config the models to train
 * @param restarts independently initialised copies trained per instance; the lowest-loss one
 *     is kept
 * @param options the training options
 */
public record SuperpositionExperiment(String name, ToyModelConfig config, int restarts,
        TrainingOptions options) {
    private static final String STANDARD = "standard-settings.json";
    private static final Set<String> KEYS = Set.of("name", "model", "n_features", "d_hidden",
            "feature_probability", "importance", "importance_decay", "n_correlated_pairs",
            "n_anticorrelated_pairs", "restarts", "steps", "batch_size", "lr", "warmup_fraction",
            "seed");

    /** Checks the name and the number of restarts. */
    public SuperpositionExperiment {
        if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("experiment name '" + name + "' must be non-empty"
                    + " and use only letters, digits, '.', '_' and '-' (it names files)");
        }
        if (restarts < 1) {
            throw new IllegalArgumentException(
                    "experiment " + name + ": restarts must be at least 1, got " + restarts);
        }
    }

    /**
     * Trains the experiment's models (best of {@link #restarts()} per instance) and analyses the
     * kept instances.
     */
    public ExperimentResult run() {
        try (BestOfN best = ToyModelTrainer.trainBestOf(config, restarts, options)) {
            ToyModel model = best.model();
            List<AntipodalPair> pairs = model instanceof NeuronComputationModel n
                    ? AntipodalPair.find(n.W1(), n.W2(), AntipodalPair.DEFAULT_MAX_COSINE)
                    : List.of();
            return new ExperimentResult(this, FeatureGeometry.of(model.W()), best.loss(),
                    best.chosenRestart(), best.elapsed(), pairs);
        }
    }

    /**
     * The standard settings of the {@code lens superposition} command: the five-feature sparsity
     * sweep, correlated and anticorrelated pairs, the hidden-ReLU model, the neuron-computation
     * model and a feature-geometry sweep.
     */
    public static List<SuperpositionExperiment> standard() {
        try (InputStream in = SuperpositionExperiment.class.getResourceAsStream(STANDARD)) {
            if (in == null) {
                throw new IllegalStateException("resource " + STANDARD + " is missing");
            }
            return fromJson(new InputStreamReader(in, StandardCharsets.UTF_8), STANDARD);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + STANDARD, e);
        }
    }

    /**
     * Reads experiments from JSON.
     *
     * @param json the document
     * @param source names the document in error messages, e.g. its file name
     * @throws IllegalArgumentException naming the source, experiment and key at fault
     */
    public static List<SuperpositionExperiment> fromJson(Reader json, String source) {
        JsonElement root;
        try {
            root = JsonParser.parseReader(json);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getMessage(), e);
        }
        if (!root.isJsonObject() || !root.getAsJsonObject().has("experiments")
                || !root.getAsJsonObject().get("experiments").isJsonArray()) {
            throw new IllegalArgumentException(
                    source + ": expected an object with an \"experiments\" array");
        }
        List<SuperpositionExperiment> experiments = new ArrayList<>();
        Set<String> names = new TreeSet<>();
        JsonArray array = root.getAsJsonObject().getAsJsonArray("experiments");
        for (int k = 0; k < array.size(); k++) {
            String where = source + ": experiment " + k;
            if (!array.get(k).isJsonObject()) {
                throw new IllegalArgumentException(where + " is not a JSON object");
            }
            SuperpositionExperiment e = parse(array.get(k).getAsJsonObject(), where);
            if (!names.add(e.name())) {
                throw new IllegalArgumentException(where + ": duplicate name '" + e.name() + "'");
            }
            experiments.add(e);
        }
        if (experiments.isEmpty()) {
            throw new IllegalArgumentException(source + ": \"experiments\" is empty");
        }
        return experiments;
    }

    private static SuperpositionExperiment parse(JsonObject o, String where) {
        for (String key : o.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(where + ": unknown key '" + key
                        + "'; known keys: " + new TreeSet<>(KEYS));
            }
        }
        String name = string(o, "name", where);
        String at = where + " ('" + name + "')";
        try {
            ToyModelConfig.Builder config = ToyModelConfig
                    .builder(ToyModelKind.fromId(string(o, "model", at)))
                    .nFeatures(integer(o, "n_features", null, at))
                    .dHidden(integer(o, "d_hidden", null, at))
                    .featureProbabilityPerInstance(numbers(o, "feature_probability", at))
                    .nCorrelatedPairs(integer(o, "n_correlated_pairs", 0, at))
                    .nAnticorrelatedPairs(integer(o, "n_anticorrelated_pairs", 0, at));
            if (o.has("importance") && o.has("importance_decay")) {
                throw new IllegalArgumentException(
                        "give either 'importance' or 'importance_decay', not both");
            } else if (o.has("importance")) {
                config.importancePerFeature(numbers(o, "importance", at));
            } else {
                config.importanceDecay(number(o, "importance_decay", 1.0, at));
            }
            TrainingOptions options = TrainingOptions.builder()
                    .steps(integer(o, "steps", 10_000, at))
                    .batchSize(integer(o, "batch_size", 1024, at))
                    .learningRate(number(o, "lr", 1e-3, at))
                    .schedule(LearningRateSchedule.warmupCosine(
                            number(o, "warmup_fraction", 0.05, at)))
                    .seed((long) number(o, "seed", 0, at))
                    .build();
            return new SuperpositionExperiment(name, config.build(),
                    integer(o, "restarts", 1, at), options);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(at)) {
                throw e;
            }
            throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
        }
    }

    private static String string(JsonObject o, String key, String where) {
        JsonElement e = required(o, key, where);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IllegalArgumentException(where + ": '" + key + "' must be a string, got " + e);
        }
        return e.getAsString();
    }

    private static double number(JsonObject o, String key, double fallback, String where) {
        if (!o.has(key)) {
            return fallback;
        }
        return asNumber(o.get(key), key, where);
    }

    private static int integer(JsonObject o, String key, Integer fallback, String where) {
        if (fallback != null && !o.has(key)) {
            return fallback;
        }
        double value = asNumber(required(o, key, where), key, where);
        if (value != Math.rint(value) || Math.abs(value) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(where + ": '" + key + "' must be an integer, got "
                    + o.get(key));
        }
        return (int) value;
    }

    private static double[] numbers(JsonObject o, String key, String where) {
        JsonElement e = required(o, key, where);
        if (!e.isJsonArray() || e.getAsJsonArray().isEmpty()) {
            throw new IllegalArgumentException(
                    where + ": '" + key + "' must be a non-empty array of numbers, got " + e);
        }
        JsonArray a = e.getAsJsonArray();
        double[] values = new double[a.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = asNumber(a.get(i), key + "[" + i + "]", where);
        }
        return values;
    }

    private static double asNumber(JsonElement e, String key, String where) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new IllegalArgumentException(where + ": '" + key + "' must be a number, got " + e);
        }
        return e.getAsDouble();
    }

    private static JsonElement required(JsonObject o, String key, String where) {
        if (!o.has(key) || o.get(key).isJsonNull()) {
            throw new IllegalArgumentException(where + ": missing required key '" + key + "'");
        }
        return o.get(key);
    }
}
