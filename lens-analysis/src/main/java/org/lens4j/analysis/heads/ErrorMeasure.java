package org.lens4j.analysis.heads;

import java.util.Locale;

/** How {@link HeadDetector} compares a head's attention pattern with a detection pattern. */
public enum ErrorMeasure {
    /**
     * TransformerLens's {@code "mul"}: {@code sum(A * D) / sum(A)}, the fraction of the head's attention
     * that falls where the detection pattern is 1. Meant for 0/1 patterns.
     */
    MUL,
    /**
     * TransformerLens's {@code "abs"}: {@code 1 - round(mean(|A - D|) * P, 3)} for {@code P} positions;
     * 1 is a perfect match.
     */
    ABS;

    /** TransformerLens's name, {@code "mul"} or {@code "abs"}. */
    public String tlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The measure with this TransformerLens name. */
    public static ErrorMeasure fromName(String name) {
        for (ErrorMeasure m : values()) {
            if (m.tlName().equals(name)) {
                return m;
            }
        }
        throw new IllegalArgumentException("Invalid error_measure=" + name + "; valid values are mul, abs");
    }
}
