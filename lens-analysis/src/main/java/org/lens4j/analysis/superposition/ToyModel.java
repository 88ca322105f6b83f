package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A batch of toy models of superposition, trained side by side: every parameter has a leading
 * instance axis, e.g. {@code W [instances, d_hidden, features]} and {@code b_final [instances,
 * features]}.
 *
 * <p>The model owns its parameters in its own {@link NDManager}; close it when done. Arrays
 * returned by {@link #forward} and {@link #lossPerInstance} belong to the manager of the input
 * features.
 *
 * <pre>{@code
 * try (ToyModel model = ToyModel.create(config, 0)) {
 *     TrainingResult result = ToyModelTrainer.train(model, TrainingOptions.defaults());
 * }
 * }</pre>
 */
public abstract class ToyModel implements AutoCloseable {
    private final ToyModelConfig config;
    private final NDManager manager;
    private final NDArray importance;
    private final Map<String, NDArray> parameters = new LinkedHashMap<>();

    /**
     * Creates the parameters from {@code weights}, one flat row-major array per parameter named
     * in {@link #parameterShapes(ToyModelConfig)}.
     */
    ToyModel(ToyModelConfig config, Map<String, float[]> weights) {
        this.config = config;
        Map<String, Shape> shapes = parameterShapes(config);
        if (!weights.keySet().equals(shapes.keySet())) {
            throw new IllegalArgumentException("a " + config.kind().id() + " model has parameters "
                    + shapes.keySet() + ", got " + weights.keySet());
        }
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            long expected = e.getValue().size();
            if (weights.get(e.getKey()).length != expected) {
                throw new IllegalArgumentException("parameter " + e.getKey() + " " + e.getValue()
                        + " needs " + expected + " values, got " + weights.get(e.getKey()).length);
            }
        }
        this.manager = NDManager.newBaseManager();
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            NDArray p = manager.create(weights.get(e.getKey()), e.getValue());
            p.setName(e.getKey());
            p.setRequiresGradient(true);
            parameters.put(e.getKey(), p);
        }
        float[] flatImportance = new float[config.nInstances() * config.nFeatures()];
        for (int i = 0; i < config.nInstances(); i++) {
            for (int f = 0; f < config.nFeatures(); f++) {
                flatImportance[i * config.nFeatures() + f] = config.importance(i, f);
            }
        }
        this.importance = manager.create(flatImportance,
                new Shape(config.nInstances(), config.nFeatures()));
    }

    /**
     * A freshly initialised model: weight matrices xavier-normal per instance (standard deviation
     * {@code sqrt(2 / (d_hidden + n_features))}), biases zero.
     *
     * @param seed seeds the initialisation, so equal seeds give equal models
     */
    public static ToyModel create(ToyModelConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (Map.Entry<String, Shape> e : parameterShapes(config).entrySet()) {
            Shape shape = e.getValue();
            float[] values = new float[(int) shape.size()];
            if (shape.dimension() == 3) { // weight matrices; the bias stays zero
                double std = Math.sqrt(2.0 / (shape.get(1) + shape.get(2)));
                for (int k = 0; k < values.length; k++) {
                    values[k] = (float) (std * random.nextGaussian());
                }
            }
            weights.put(e.getKey(), values);
        }
        return fromWeights(config, weights);
    }

    /**
     * A model with the given parameter values.
     *
     * @param weights one flat row-major array per parameter, keyed by the names and sized by the
     *     shapes of {@link #parameterShapes(ToyModelConfig)}
     * @throws IllegalArgumentException naming a missing, unknown or wrongly sized parameter
     */
    public static ToyModel fromWeights(ToyModelConfig config, Map<String, float[]> weights) {
        switch (config.kind()) {
            case RELU_OUTPUT:
                return new ReluOutputModel(config, weights);
            case HIDDEN_RELU:
                return new HiddenReluModel(config, weights);
            case NEURON_COMPUTATION:
                return new NeuronComputationModel(config, weights);
            default:
                throw new AssertionError(config.kind());
        }
    }

    /**
     * The parameters of a model of this configuration, in order, with their shapes: {@code W
     * [instances, d_hidden, features]} and {@code b_final [instances, features]}, or for the
     * neuron-computation model {@code W1 [instances, d_hidden, features]}, {@code W2 [instances,
     * features, d_hidden]} and {@code b_final}.
     */
    public static Map<String, Shape> parameterShapes(ToyModelConfig config) {
        long inst = config.nInstances();
        long feat = config.nFeatures();
        long hidden = config.dHidden();
        Map<String, Shape> shapes = new LinkedHashMap<>();
        if (config.kind() == ToyModelKind.NEURON_COMPUTATION) {
            shapes.put("W1", new Shape(inst, hidden, feat));
            shapes.put("W2", new Shape(inst, feat, hidden));
        } else {
            shapes.put("W", new Shape(inst, hidden, feat));
        }
        shapes.put("b_final", new Shape(inst, feat));
        return shapes;
    }

    /** The configuration this model was built for. */
    public ToyModelConfig config() {
        return config;
    }

    /**
     * The forward pass of every instance at once.
     *
     * @param features {@code [batch, instances, features]}
     * @return the reconstruction {@code [batch, instances, features]}, attached to the manager of
     *     {@code features}
     */
    public abstract NDArray forward(NDArray features);

    /**
     * The feature-embedding matrix whose geometry the analyses study, {@code [instances,
     * d_hidden, features]}: {@code W}, or {@code W1} for the neuron-computation model.
     */
    public abstract NDArray W();

    /** The output bias {@code b_final [instances, features]}. */
    public NDArray bFinal() {
        return parameter("b_final");
    }

    /**
     * What the model is trained to output for these features: the features themselves, or their
     * absolute values for the neuron-computation model.
     *
     * @param features {@code [batch, instances, features]}
     * @return {@code [batch, instances, features]}
     */
    public NDArray target(NDArray features) {
        return features;
    }

    /**
     * The importance-weighted squared error of each instance, averaged over the batch and the
     * features: {@code mean_{batch, f} I[inst, f] * (out - target)^2}.
     *
     * @param output the model's output {@code [batch, instances, features]}
     * @param features the input {@code [batch, instances, features]}
     * @return {@code [instances]}
     */
    public NDArray lossPerInstance(NDArray output, NDArray features) {
        if (!output.getShape().equals(features.getShape())) {
            throw new IllegalArgumentException("output shape " + output.getShape()
                    + " differs from features shape " + features.getShape());
        }
        Shape shape = output.getShape();
        return output.sub(target(features)).square().mul(importance).sum(new int[] {0, 2})
                .div(shape.get(0) * shape.get(2));
    }

    /** The trainable parameters by name, in a fixed order; owned by this model. */
    public Map<String, NDArray> parameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /**
     * A parameter by name.
     *
     * @throws IllegalArgumentException naming the unknown parameter and the known ones
     */
    public NDArray parameter(String name) {
        NDArray p = parameters.get(name);
        if (p == null) {
            throw new IllegalArgumentException("a " + config.kind().id() + " model has no parameter '"
                    + name + "'; it has " + parameters.keySet());
        }
        return p;
    }

    /**
     * A new, independent model made of copies of the given instances, in the given order (the
     * same instance may appear more than once).
     */
    public ToyModel selectInstances(int... instances) {
        ToyModelConfig selected = config.selectInstances(instances);
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            float[] all = e.getValue().toFloatArray();
            int block = all.length / config.nInstances();
            float[] picked = new float[block * instances.length];
            for (int i = 0; i < instances.length; i++) {
                System.arraycopy(all, instances[i] * block, picked, i * block, block);
            }
            weights.put(e.getKey(), picked);
        }
        return fromWeights(selected, weights);
    }

    /**
     * Checks that {@code features} is {@code [batch, instances, features]} for this model.
     *
     * @throws IllegalArgumentException naming the expected and actual shapes
     */
    protected void checkFeatures(NDArray features) {
        Shape s = features.getShape();
        if (s.dimension() != 3 || s.get(1) != config.nInstances() || s.get(2) != config.nFeatures()) {
            throw new IllegalArgumentException("features must be [batch, " + config.nInstances()
                    + " instances, " + config.nFeatures() + " features], got " + s);
        }
    }

    /**
     * Moves {@code array} onto {@code manager}. Operations whose first operand is a parameter put
     * their result in the model's manager; the forward pass moves such intermediates to the
     * manager of its input, so they are freed with it.
     */
    static NDArray on(NDManager manager, NDArray array) {
        array.attach(manager);
        return array;
    }

    /** Releases the parameters' native memory. */
    @Override
    public void close() {
        manager.close();
    }
}
