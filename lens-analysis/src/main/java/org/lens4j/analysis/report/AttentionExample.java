package org.lens4j.analysis.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Attention patterns of chosen heads on one example prompt, for a report.
 *
 * @param tokens the prompt's tokens as strings, one per position
 * @param patterns by head label ({@code L1H3}): the {@code [query_pos][key_pos]} pattern
 */
public record AttentionExample(List<String> tokens, Map<String, double[][]> patterns) {

    /** Validates that every pattern is {@code [pos][pos]}. */
    public AttentionExample {
        tokens = List.copyOf(tokens);
        patterns = new LinkedHashMap<>(patterns);
        for (Map.Entry<String, double[][]> e : patterns.entrySet()) {
            double[][] p = e.getValue();
            if (p.length != tokens.size() || (p.length > 0 && p[0].length != tokens.size())) {
                throw new IllegalArgumentException("pattern of " + e.getKey() + " is not [" + tokens.size() + "]["
                        + tokens.size() + "]");
            }
        }
    }
}
