package org.lens4j.analysis.probes;

import java.util.Locale;

/** The regularisation of a logistic-regression probe, on the weights (never the bias). */
public enum Penalty {
    /** No penalty. */
    NONE,
    /** {@code (lambda / 2) * ||W||^2}: small, dense weights. */
    L2,
    /** {@code lambda * ||W||_1}: sparse weights (a sparse probe); exact zeros from the proximal step. */
    L1;

    /**
     * Parses {@code none}, {@code l1} or {@code l2} (any case).
     *
     * @throws IllegalArgumentException naming the text otherwise
     */
    public static Penalty parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("penalty must be none, l1 or l2, not '" + text + "'", e);
        }
    }
}
