package org.lens4j.analysis.training;

import ai.djl.ndarray.NDManager;
import java.util.Random;

/**
 * Random token sequences in which one random segment occurs twice, the task that makes a transformer
 * form induction heads (Olsson et al., "In-context Learning and Induction Heads", 2022): once the
 * segment repeats, each next token is predictable by finding the previous occurrence of the current
 * token and copying the token that followed it.
 *
 * <p>A sequence is {@code BOS = 0} followed by {@code sequenceLength - 1} tokens drawn uniformly from
 * {@code 1 .. vocabSize - 1}; then a segment length L is drawn uniformly from
 * {@code [minSegment, maxSegment]}, a start a for the first copy, and a start b ≥ a + L for the second,
 * and {@code tokens[b .. b+L) = tokens[a .. a+L)}. The length and both offsets vary from sequence to
 * sequence on purpose: with the copies always at the same positions a model with learned positional
 * embeddings solves the task positionally ("attend back L-1 positions") and forms no induction circuit.
 */
public final class InductionTask implements TrainingTask {

    /** The beginning-of-sequence token. */
    public static final int BOS = 0;

    private final int vocabSize;
    private final int sequenceLength;
    private final int minSegment;
    private final int maxSegment;

    /**
     * @param vocabSize number of token ids (BOS plus {@code vocabSize - 1} ordinary tokens), at least 3
     * @param sequenceLength tokens per sequence, BOS included
     * @param minSegment shortest repeated segment, at least 2
     * @param maxSegment longest repeated segment; two copies must fit after BOS
     */
    public InductionTask(int vocabSize, int sequenceLength, int minSegment, int maxSegment) {
        if (vocabSize < 3) {
            throw new IllegalArgumentException("InductionTask vocabSize must be at least 3, not " + vocabSize);
        }
        if (minSegment < 2 || maxSegment < minSegment) {
            throw new IllegalArgumentException("InductionTask segment lengths must satisfy 2 <= minSegment <= maxSegment, not "
                    + minSegment + ", " + maxSegment);
        }
        if (2 * maxSegment > sequenceLength - 1) {
            throw new IllegalArgumentException("InductionTask sequenceLength " + sequenceLength
                    + " cannot hold BOS and two copies of a segment of " + maxSegment + " tokens");
        }
        this.vocabSize = vocabSize;
        this.sequenceLength = sequenceLength;
        this.minSegment = minSegment;
        this.maxSegment = maxSegment;
    }

    /** One sequence as token ids {@code [sequenceLength]}. */
    public long[] sequence(Random rng) {
        long[] t = new long[sequenceLength];
        t[0] = BOS;
        for (int i = 1; i < sequenceLength; i++) {
            t[i] = 1 + rng.nextInt(vocabSize - 1);
        }
        int length = minSegment + rng.nextInt(maxSegment - minSegment + 1);
        // first copy in [1, n - 2L], second after it in [a + L, n - L]
        int a = 1 + rng.nextInt(sequenceLength - 2 * length);
        int b = a + length + rng.nextInt(sequenceLength - length - (a + length) + 1);
        System.arraycopy(t, a, t, b, length);
        return t;
    }

    @Override
    public Batch sample(NDManager manager, int batchSize, Random rng) {
        long[][] tokens = new long[batchSize][];
        for (int i = 0; i < batchSize; i++) {
            tokens[i] = sequence(rng);
        }
        return new Batch(manager.create(tokens), null);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int sequenceLength() {
        return sequenceLength;
    }

    /** The shortest repeated segment. */
    public int minSegment() {
        return minSegment;
    }

    /** The longest repeated segment. */
    public int maxSegment() {
        return maxSegment;
    }

    @Override
    public String toString() {
        return "InductionTask(vocab " + vocabSize + ", length " + sequenceLength + ", segment " + minSegment + ".."
                + maxSegment + ")";
    }
}
