package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Random;

/**
 * How {@link HeadScores} draws its sequences: {@code [BOS, S, S]} (or {@code [S, S]} without BOS), S being
 * {@code segmentLength} tokens drawn uniformly from {@code [minToken, d_vocab)}. Immutable; build with
 * {@link #builder()}.
 *
 * @param segmentLength n, the length of the repeated segment
 * @param batchSize number of sequences averaged over
 * @param seed seed of the token draw
 * @param bos the token put first, or null for none
 * @param minToken smallest token drawn
 */
public record RepeatedTokens(int segmentLength, int batchSize, long seed, Integer bos, int minToken) {

    /** Checks the values. */
    public RepeatedTokens {
        if (segmentLength < 2) {
            throw new IllegalArgumentException("repeated tokens: segmentLength must be at least 2, not " + segmentLength);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("repeated tokens: batchSize must be at least 1, not " + batchSize);
        }
        if (minToken < 0 || (bos != null && bos < 0)) {
            throw new IllegalArgumentException("repeated tokens: token ids must be non-negative (minToken " + minToken
                    + ", bos " + bos + ")");
        }
    }

    /** Defaults: n = 20, batch 16, seed 0, BOS token 0, tokens from 1. */
    public static Builder builder() {
        return new Builder();
    }

    /** The sequence length, {@code 2n} plus one if there is a BOS. */
    public int sequenceLength() {
        return 2 * segmentLength + (bos == null ? 0 : 1);
    }

    /**
     * Draws the sequences.
     *
     * @param dVocab the model's vocabulary size; tokens are drawn from {@code [minToken, dVocab)}
     * @return {@code [batchSize, sequenceLength]} int64, owned by {@code manager}
     */
    public NDArray generate(NDManager manager, int dVocab, Random rng) {
        if (minToken >= dVocab || (bos != null && bos >= dVocab)) {
            throw new IllegalArgumentException("repeated tokens: minToken " + minToken + " / bos " + bos
                    + " do not fit d_vocab " + dVocab);
        }
        int prefix = bos == null ? 0 : 1;
        long[][] rows = new long[batchSize][sequenceLength()];
        for (long[] row : rows) {
            if (bos != null) {
                row[0] = bos;
            }
            for (int i = 0; i < segmentLength; i++) {
                row[prefix + i] = minToken + rng.nextInt(dVocab - minToken);
                row[prefix + segmentLength + i] = row[prefix + i];
            }
        }
        return manager.create(rows);
    }

    /** Builder for {@link RepeatedTokens}. */
    public static final class Builder {
        private int segmentLength = 20;
        private int batchSize = 16;
        private long seed;
        private Integer bos = 0;
        private int minToken = 1;

        private Builder() {}

        /** n, the repeated segment's length (default 20). */
        public Builder segmentLength(int v) {
            segmentLength = v;
            return this;
        }

        /** Number of sequences (default 16). */
        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /** Seed of the draw (default 0). */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** The first token, e.g. 50256 for GPT-2 (default 0); null for no BOS. */
        public Builder bos(Integer v) {
            bos = v;
            return this;
        }

        /** The smallest token drawn (default 1). */
        public Builder minToken(int v) {
            minToken = v;
            return this;
        }

        /** Validates and builds. */
        public RepeatedTokens build() {
            return new RepeatedTokens(segmentLength, batchSize, seed, bos, minToken);
        }
    }
}
