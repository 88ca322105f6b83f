package org.lens4j.analysis.probes;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.io.Safetensors;

/**
 * A trained linear probe: logistic regression on the activation at one hook. Binary probes have one
 * direction {@code W [d, 1]} and read {@code p(class 1) = sigmoid(x . w + b)}; probes over C > 2 classes
 * have {@code W [d, C]} and read {@code softmax(x W + b)}. Weights act on the raw activations (any
 * standardisation used in training is folded in). Immutable; the weights live on the Java heap.
 *
 * <p>Saved as a directory: {@code probe.safetensors} (float32 {@code W [d, k]} and {@code b [k]}) and
 * {@code probe.json} (hook, class names, metadata).
 */
public final class LinearProbe {

    /** The {@code format} written to {@code probe.json}. */
    public static final String FORMAT = "lens4j-linear-probe";
    /** The weights file in a probe directory. */
    public static final String WEIGHTS_FILE = "probe.safetensors";
    /** The metadata file in a probe directory. */
    public static final String JSON_FILE = "probe.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    private final String hook;
    private final List<String> classNames;
    private final int dim;
    private final float[] weights;
    private final float[] bias;
    private final Map<String, String> metadata;

    private LinearProbe(String hook, List<String> classNames, int dim, float[] weights, float[] bias,
            Map<String, String> metadata) {
        this.hook = hook;
        this.classNames = classNames;
        this.dim = dim;
        this.weights = weights;
        this.bias = bias;
        this.metadata = metadata;
    }

    /**
     * A probe from its weights (copied).
     *
     * @param hook the hook it reads
     * @param classNames class names, at least two
     * @param weights {@code [d][k]}, k = 1 for two classes, k = C otherwise
     * @param bias {@code [k]}
     * @param metadata free-form text (feature, training settings), saved with the probe
     */
    public static LinearProbe of(String hook, List<String> classNames, float[][] weights, float[] bias,
            Map<String, String> metadata) {
        Objects.requireNonNull(hook, "hook");
        if (classNames.size() < 2) {
            throw new IllegalArgumentException("a probe needs at least two classes, not " + classNames);
        }
        int k = directions(classNames.size());
        if (weights.length == 0) {
            throw new IllegalArgumentException("probe weights are empty");
        }
        if (bias.length != k) {
            throw new IllegalArgumentException("probe bias has " + bias.length + " values; " + classNames.size()
                    + " classes need " + k);
        }
        float[] flat = new float[weights.length * k];
        for (int j = 0; j < weights.length; j++) {
            if (weights[j].length != k) {
                throw new IllegalArgumentException("probe weight row " + j + " has " + weights[j].length + " values; "
                        + classNames.size() + " classes need " + k);
            }
            System.arraycopy(weights[j], 0, flat, j * k, k);
        }
        for (float v : flat) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("probe weights hold a non-finite value " + v);
            }
        }
        return new LinearProbe(hook, List.copyOf(classNames), weights.length, flat, bias.clone(),
                Collections.unmodifiableMap(new LinkedHashMap<>(metadata)));
    }

    /** Number of weight columns for a number of classes: 1 for a binary probe, C otherwise. */
    static int directions(int numClasses) {
        return numClasses == 2 ? 1 : numClasses;
    }

    /** The hook point the probe reads. */
    public String hook() {
        return hook;
    }

    /** The class names, index = predicted class. */
    public List<String> classNames() {
        return classNames;
    }

    /** Number of classes. */
    public int numClasses() {
        return classNames.size();
    }

    /** Length of the activation vector it reads, d. */
    public int dim() {
        return dim;
    }

    /** Number of weight columns k: 1 for a binary probe, C otherwise. */
    public int numDirections() {
        return bias.length;
    }

    /** Free-form metadata saved with the probe. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The weights {@code [d][k]} (a copy). */
    public float[][] weights() {
        float[][] w = new float[dim][];
        for (int j = 0; j < dim; j++) {
            w[j] = Arrays.copyOfRange(weights, j * numDirections(), (j + 1) * numDirections());
        }
        return w;
    }

    /** The bias {@code [k]} (a copy). */
    public float[] bias() {
        return bias.clone();
    }

    /** The direction of a binary probe {@code [d]}: the activation direction that means class 1. */
    public float[] direction() {
        if (numDirections() != 1) {
            throw new IllegalStateException("a probe over " + numClasses() + " classes has one direction per class: "
                    + "call direction(class)");
        }
        return direction(0);
    }

    /** Weight column {@code i} {@code [d]}: for C > 2 classes, the direction of class i. */
    public float[] direction(int i) {
        Objects.checkIndex(i, numDirections());
        float[] d = new float[dim];
        for (int j = 0; j < dim; j++) {
            d[j] = weights[j * numDirections() + i];
        }
        return d;
    }

    /** The weights as an array {@code [d, k]}, owned by {@code manager}. */
    public NDArray weights(NDManager manager) {
        return manager.create(weights, new Shape(dim, numDirections()));
    }

    /** The bias as an array {@code [k]}, owned by {@code manager}. */
    public NDArray bias(NDManager manager) {
        return manager.create(bias, new Shape(numDirections()));
    }

    /**
     * The class logits of activations: {@code [0, x . w + b]} for a binary probe, {@code x W + b} otherwise.
     *
     * @param activations {@code [..., d]}, float32 or float64
     * @return {@code [..., C]} in the activations' dtype, owned by their manager
     * @throws IllegalArgumentException if the last axis is not d
     */
    public NDArray logits(NDArray activations) {
        Shape s = checkActivations(activations);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDManager m = activations.getManager();
            DataType type = activations.getDataType();
            NDArray w = weights(m).toType(type, false);
            NDArray b = bias(m).toType(type, false);
            NDArray flat = activations.reshape(-1, dim);
            NDArray out = classLogits(flat, w, b).reshape(s.slice(0, s.dimension() - 1).add(numClasses()));
            NDScope.unregister(out);
            return out;
        }
    }

    /** Class probabilities {@code [..., C]} of activations {@code [..., d]}, owned by their manager. */
    public NDArray probabilities(NDArray activations) {
        try (NDArray logits = logits(activations)) {
            return logits.softmax(-1);
        }
    }

    /** Predicted classes {@code [...]} (int64) of activations {@code [..., d]}, owned by their manager. */
    public NDArray predict(NDArray activations) {
        try (NDArray logits = logits(activations)) {
            return logits.argMax(-1);
        }
    }

    /** Class logits of every row of a probing set, {@code [n][C]}. */
    public float[][] logits(ProbingSet set) {
        if (set.dim() != dim) {
            throw new IllegalArgumentException("probe for " + hook + " reads " + dim + " values, but the probing set '"
                    + set.feature() + "' at " + set.hook() + " has " + set.dim());
        }
        try (NDManager m = NDManager.newBaseManager()) {
            float[] z = logits(set.activations(m)).toFloatArray();
            float[][] rows = new float[set.size()][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = Arrays.copyOfRange(z, i * numClasses(), (i + 1) * numClasses());
            }
            return rows;
        }
    }

    /** Accuracy, AUROC and F1 of the probe on a probing set. */
    public ClassificationMetrics evaluate(ProbingSet set) {
        return ClassificationMetrics.fromLogits(set.labels(), logits(set));
    }

    /**
     * Runs the model on tokens and applies the probe at its hook.
     *
     * @param model a model that has the probe's hook with activations of size d per position
     * @param tokens {@code [batch, pos]}
     * @return class probabilities {@code [batch, pos, C]}, owned by the tokens' manager
     */
    public NDArray apply(HookedTransformer model, NDArray tokens) {
        String full = model.hookPoint(hook).name();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray act = HookActivations.read(model, tokens, full, m);
            Shape s = act.getShape();
            NDArray probs = probabilities(act.reshape(s.get(0), s.get(1), -1));
            probs.attach(tokens.getManager());
            return probs;
        }
    }

    /**
     * The class logits {@code [n, C]} of rows {@code x [n, d]} for weights {@code w [d, k]} and bias
     * {@code b [k]}: a zero logit for class 0 is put in front of a binary probe's single column, so
     * {@code softmax} gives {@code [1 - sigmoid(z), sigmoid(z)]}. Shared with the trainer.
     */
    static NDArray classLogits(NDArray x, NDArray w, NDArray b) {
        NDArray z = x.matMul(w).add(b);
        if (w.getShape().get(1) == 1) {
            z = NDArrays.concat(new NDList(z.zerosLike(), z), 1);
        }
        return z;
    }

    private Shape checkActivations(NDArray activations) {
        Shape s = activations.getShape();
        if (s.dimension() < 1 || s.get(s.dimension() - 1) != dim) {
            throw new IllegalArgumentException("probe for " + hook + " reads activations [..., " + dim + "], not " + s);
        }
        if (!activations.getDataType().isFloating()) {
            throw new IllegalArgumentException("probe for " + hook + " reads floating activations, not "
                    + activations.getDataType());
        }
        return s;
    }

    // ------------------------------------------------------------------------------------------ files

    /**
     * Writes {@code probe.safetensors} and {@code probe.json} into a directory (created if needed).
     *
     * @throws IOException if a file cannot be written
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("W", weights(m));
            tensors.put("b", bias(m));
            Safetensors.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", FORMAT, "hook", hook));
        }
        JsonObject json = new JsonObject();
        json.addProperty("format", FORMAT);
        json.addProperty("version", 1);
        json.addProperty("hook", hook);
        json.addProperty("dim", dim);
        JsonArray classes = new JsonArray();
        classNames.forEach(classes::add);
        json.add("classes", classes);
        JsonObject meta = new JsonObject();
        metadata.forEach(meta::addProperty);
        json.add("metadata", meta);
        Files.writeString(dir.resolve(JSON_FILE), GSON.toJson(json) + "\n", StandardCharsets.UTF_8);
    }

    /**
     * Reads a probe saved by {@link #save}.
     *
     * @throws NoSuchFileException if a file is missing
     * @throws IOException if a file is malformed (the message names the file and the field or tensor)
     */
    public static LinearProbe load(Path dir) throws IOException {
        Path jsonFile = dir.resolve(JSON_FILE);
        Path weightsFile = dir.resolve(WEIGHTS_FILE);
        if (!Files.exists(jsonFile)) {
            throw new NoSuchFileException(jsonFile.toString(), null, "no probe metadata: " + dir + " is not a saved probe");
        }
        JsonObject json;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(jsonFile, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw new IOException(jsonFile + ": not a JSON object");
            }
            json = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IOException(jsonFile + ": invalid JSON: " + e.getMessage(), e);
        }
        String format = string(json, "format", jsonFile);
        if (!format.equals(FORMAT)) {
            throw new IOException(jsonFile + ": format is '" + format + "', not " + FORMAT);
        }
        String hook = string(json, "hook", jsonFile);
        List<String> classes = new ArrayList<>();
        JsonElement classesJson = json.get("classes");
        if (classesJson == null || !classesJson.isJsonArray()) {
            throw new IOException(jsonFile + ": 'classes' must be an array of class names");
        }
        for (JsonElement c : classesJson.getAsJsonArray()) {
            if (!c.isJsonPrimitive() || !c.getAsJsonPrimitive().isString()) {
                throw new IOException(jsonFile + ": 'classes' must hold strings, found " + c);
            }
            classes.add(c.getAsString());
        }
        if (classes.size() < 2) {
            throw new IOException(jsonFile + ": 'classes' needs at least two names, has " + classes);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonElement metaJson = json.get("metadata");
        if (metaJson != null && metaJson.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : metaJson.getAsJsonObject().entrySet()) {
                metadata.put(e.getKey(), e.getValue().isJsonPrimitive() ? e.getValue().getAsString() : e.getValue().toString());
            }
        }
        int k = directions(classes.size());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Safetensors.read(weightsFile, m);
            NDArray w = tensor(tensors, "W", weightsFile);
            NDArray b = tensor(tensors, "b", weightsFile);
            Shape ws = w.getShape();
            if (ws.dimension() != 2 || ws.get(1) != k || ws.get(0) < 1) {
                throw new IOException(weightsFile + ": tensor 'W' has shape " + ws + "; " + classes.size()
                        + " classes need [d, " + k + "]");
            }
            if (!b.getShape().equals(new Shape(k))) {
                throw new IOException(weightsFile + ": tensor 'b' has shape " + b.getShape() + ", not [" + k + "]");
            }
            JsonElement dimJson = json.get("dim");
            if (dimJson != null && !(dimJson.isJsonPrimitive() && dimJson.getAsJsonPrimitive().isNumber()
                    && dimJson.getAsLong() == ws.get(0))) {
                throw new IOException(jsonFile + ": 'dim' is " + dimJson + " but 'W' in " + weightsFile + " has shape " + ws);
            }
            float[] flat = w.toFloatArray();
            int d = (int) ws.get(0);
            float[][] rows = new float[d][];
            for (int j = 0; j < d; j++) {
                rows[j] = Arrays.copyOfRange(flat, j * k, (j + 1) * k);
            }
            try {
                return of(hook, classes, rows, b.toFloatArray(), metadata);
            } catch (IllegalArgumentException e) {
                throw new IOException(weightsFile + ": " + e.getMessage(), e);
            }
        }
    }

    private static String string(JsonObject json, String key, Path file) throws IOException {
        JsonElement e = json.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IOException(file + ": '" + key + "' must be a string");
        }
        return e.getAsString();
    }

    private static NDArray tensor(Map<String, NDArray> tensors, String name, Path file) throws IOException {
        NDArray t = tensors.get(name);
        if (t == null) {
            throw new IOException(file + ": no tensor '" + name + "' (has " + tensors.keySet() + ")");
        }
        if (t.getDataType() != DataType.FLOAT32) {
            throw new IOException(file + ": tensor '" + name + "' is " + t.getDataType() + ", not float32");
        }
        return t;
    }

    @Override
    public String toString() {
        return "LinearProbe(" + hook + ", " + dim + " -> " + classNames + ")";
    }
}
