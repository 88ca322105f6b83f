package org.lens4j.analysis.probes;

import java.util.List;
import java.util.function.Function;

/** A binary {@link TokenFeature}: classes {@code ["not <name>", "<name>"]}, label 1 where it holds. */
final class BinaryFeature implements TokenFeature {

    private final String name;
    private final Function<long[], int[]> labeler;

    BinaryFeature(String name, Function<long[], int[]> labeler) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a feature needs a name");
        }
        this.name = name;
        this.labeler = labeler;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<String> classNames() {
        return List.of("not " + name, name);
    }

    @Override
    public int[] labels(long[] tokens) {
        return labeler.apply(tokens);
    }

    @Override
    public String toString() {
        return name;
    }
}
