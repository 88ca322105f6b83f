package org.lens4j.analysis.superposition;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/**
 * Draws batches of synthetic sparse features for a {@link ToyModelConfig}.
 *
 * <p>Each feature is present with its feature probability {@code p} and then takes a value
 * uniform in [0, 1], or in [-1, 1] for {@link ToyModelKind#signedFeatures() signed} models;
 * absent features are 0. Independent features are drawn one by one. In a correlated pair both
 * features are present or both absent (probability {@code p}); in an anticorrelated pair at most
 * one is present: the pair is active with probability {@code 2p} and then one of the two, chosen
 * by a fair coin, is present. Every feature is therefore present with probability {@code p}.
 *
 * <p>Random numbers come from a seeded {@link SplittableRandom}, so a generator with the same
 * seed yields the same batches regardless of any engine-wide random state. Not thread-safe.
 */
public final class FeatureGenerator {
    private final ToyModelConfig config;
    private final SplittableRandom random;
    /** Reused for every batch: a fresh direct buffer per batch piles up until the next GC. */
    private ByteBuffer direct = ByteBuffer.allocateDirect(0);

    /** A generator for the given configuration, seeded with {@code seed}. */
    public FeatureGenerator(ToyModelConfig config, long seed) {
        this.config = config;
        this.random = new SplittableRandom(seed);
    }

    /**
     * Draws a batch of features.
     *
     * @param manager owns the returned array
     * @param batchSize number of samples
     * @return features {@code [batch, instances, features]}
     */
    public NDArray generateBatch(NDManager manager, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        int nInst = config.nInstances();
        int nFeat = config.nFeatures();
        long bytes = 4L * batchSize * nInst * nFeat;
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a batch of " + batchSize + " x " + nInst
                    + " instances x " + nFeat + " features exceeds 2 GiB; use a smaller batch");
        }
        if (direct.capacity() != bytes) {
            direct = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        }
        FloatBuffer buffer = direct.asFloatBuffer();
        int correlatedEnd = 2 * config.nCorrelatedPairs();
        int anticorrelatedEnd = correlatedEnd + 2 * config.nAnticorrelatedPairs();
        for (int b = 0; b < batchSize; b++) {
            for (int i = 0; i < nInst; i++) {
                int row = (b * nInst + i) * nFeat;
                for (int f = 0; f < correlatedEnd; f += 2) {
                    boolean present = random.nextDouble() < config.featureProbability(i, f);
                    buffer.put(row + f, present ? value() : 0f);
                    buffer.put(row + f + 1, present ? value() : 0f);
                }
                for (int f = correlatedEnd; f < anticorrelatedEnd; f += 2) {
                    boolean pairPresent =
                            random.nextDouble() < 2.0 * config.featureProbability(i, f);
                    boolean firstPresent = random.nextBoolean();
                    buffer.put(row + f, pairPresent && firstPresent ? value() : 0f);
                    buffer.put(row + f + 1, pairPresent && !firstPresent ? value() : 0f);
                }
                for (int f = anticorrelatedEnd; f < nFeat; f++) {
                    buffer.put(row + f,
                            random.nextDouble() < config.featureProbability(i, f) ? value() : 0f);
                }
            }
        }
        // The engine wraps a direct buffer without copying; copy so the buffer can be reused.
        try (NDArray wrapped = manager.create(direct, new Shape(batchSize, nInst, nFeat),
                DataType.FLOAT32)) {
            return wrapped.duplicate();
        }
    }

    private float value() {
        float u = (float) random.nextDouble();
        return config.kind().signedFeatures() ? 2f * u - 1f : u;
    }
}
