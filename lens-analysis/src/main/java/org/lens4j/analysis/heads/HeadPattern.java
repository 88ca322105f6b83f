package org.lens4j.analysis.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;

/**
 * The built-in detection patterns of TransformerLens's {@code head_detector} ({@code HEAD_NAMES}), each a
 * lower-triangular {@code [pos, pos]} 0/1 matrix over query (row) and key (column) positions of a token
 * sequence.
 */
public enum HeadPattern {
    /** {@code D[i, i-1] = 1}: attend to the previous token. */
    PREVIOUS_TOKEN_HEAD("previous_token_head"),
    /** {@code D[i, j] = 1} for {@code j < i} with {@code tokens[j] == tokens[i]}: attend to earlier copies. */
    DUPLICATE_TOKEN_HEAD("duplicate_token_head"),
    /**
     * The duplicate pattern shifted one key to the right: {@code D[i, j] = dup[i, j-1]} for {@code 1 <= j <= i},
     * attend to the token after an earlier copy of the current token. As in TransformerLens the diagonal
     * can be 1 (when {@code tokens[i-1] == tokens[i]}).
     */
    INDUCTION_HEAD("induction_head");

    private final String tlName;

    HeadPattern(String tlName) {
        this.tlName = tlName;
    }

    /** TransformerLens's name, e.g. {@code "induction_head"}. */
    public String tlName() {
        return tlName;
    }

    /** The pattern with this TransformerLens name. */
    public static HeadPattern fromName(String name) {
        for (HeadPattern p : values()) {
            if (p.tlName.equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("detection_pattern must be a Tensor or one of head names: "
                + Arrays.stream(values()).map(HeadPattern::tlName).toList() + "; got " + name);
    }

    /**
     * The pattern for a token sequence.
     *
     * @param tokens the sequence, {@code [pos]}
     * @return {@code [pos, pos]} float32 of 0 and 1, owned by {@code manager}
     */
    public NDArray of(long[] tokens, NDManager manager) {
        int p = tokens.length;
        float[][] d = new float[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j <= i; j++) {
                d[i][j] = switch (this) {
                    case PREVIOUS_TOKEN_HEAD -> j == i - 1 ? 1 : 0;
                    case DUPLICATE_TOKEN_HEAD -> j < i && tokens[j] == tokens[i] ? 1 : 0;
                    case INDUCTION_HEAD -> j >= 1 && j - 1 < i && tokens[j - 1] == tokens[i] ? 1 : 0;
                };
            }
        }
        return manager.create(d);
    }
}
