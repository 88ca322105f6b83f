package org.lens4j.analysis.probes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;

/**
 * A multi-class {@link TokenFeature} made of binary ones: the class of a position is the first
 * feature that holds there, or the last class, {@code "none"}; a position any feature skips is skipped.
 */
final class FirstOfFeature implements TokenFeature {

    private final List<TokenFeature> features;
    private final List<String> classNames;
    private final String name;

    FirstOfFeature(List<TokenFeature> features) {
        if (features.isEmpty()) {
            throw new IllegalArgumentException("firstOf needs at least one feature");
        }
        List<String> names = new ArrayList<>();
        for (TokenFeature f : features) {
            if (f.numClasses() != 2) {
                throw new IllegalArgumentException("firstOf takes binary features; '" + f.name() + "' has "
                        + f.numClasses() + " classes");
            }
            names.add(f.name());
        }
        if (new HashSet<>(names).size() != names.size()) {
            throw new IllegalArgumentException("firstOf features must have different names: " + names);
        }
        this.features = List.copyOf(features);
        this.name = String.join(" | ", names);
        names.add("none");
        this.classNames = List.copyOf(names);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    @Override
    public int[] labels(long[] tokens) {
        int[] labels = new int[tokens.length];
        Arrays.fill(labels, features.size());
        boolean[] decided = new boolean[tokens.length];
        for (int f = 0; f < features.size(); f++) {
            int[] own = features.get(f).labels(tokens);
            for (int p = 0; p < tokens.length; p++) {
                if (own[p] == SKIP) {
                    labels[p] = SKIP;
                    decided[p] = true;
                } else if (!decided[p] && own[p] == 1) {
                    labels[p] = f;
                    decided[p] = true;
                }
            }
        }
        return labels;
    }

    @Override
    public String toString() {
        return name;
    }
}
