package org.lens4j.analysis.heads;

import org.lens4j.core.HookedTransformer;

/**
 * One per-head score of a model, the unit a head report is built from: each metric fills one
 * {@code [n_layers, n_heads]} table, named by {@link LayerHeadScores#name()}. The built-in ones come from
 * {@link HeadScores#metrics(RepeatedTokens)}; other scores (e.g. a copying score from the OV circuit)
 * plug in as a lambda, {@code model -> new LayerHeadScores("copying", ...)}.
 */
@FunctionalInterface
public interface HeadMetric {

    /** Scores every head of the model. */
    LayerHeadScores score(HookedTransformer model);
}
