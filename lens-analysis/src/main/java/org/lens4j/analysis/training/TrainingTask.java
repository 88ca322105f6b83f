package org.lens4j.analysis.training;

import ai.djl.ndarray.NDManager;
import java.util.Random;

/** A source of training batches for a language model (e.g. {@link InductionTask}, {@link ToyIoiTask}). */
public interface TrainingTask {

    /**
     * A new batch. All randomness must come from {@code rng}, so a seeded run is reproducible.
     *
     * @param manager owner of the batch's arrays
     * @param batchSize number of sequences
     * @param rng the run's random source
     */
    Batch sample(NDManager manager, int batchSize, Random rng);

    /** The number of token ids the task uses (ids are {@code 0 .. vocabSize - 1}); a model needs d_vocab at least this. */
    int vocabSize();

    /** The length of every sequence, in tokens; a model needs n_ctx at least this. */
    int sequenceLength();
}
