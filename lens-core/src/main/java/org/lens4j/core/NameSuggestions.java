package org.lens4j.core;

import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Closest-name suggestions for error messages (edit distance). */
public final class NameSuggestions {

    private NameSuggestions() {}

    /**
     * Up to three names closest to {@code wanted}: names containing it first, then by edit distance.
     *
     * @param wanted the name that was not found
     * @param names the names that exist
     * @return at most three of them, closest first
     */
    public static List<String> closest(String wanted, Collection<String> names) {
        return names.stream()
                .sorted(Comparator.comparingInt((String n) -> n.contains(wanted) ? 0 : 1)
                        .thenComparingInt(n -> distance(wanted, n)).thenComparing(n -> n))
                .limit(3)
                .toList();
    }

    /** Levenshtein distance. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
