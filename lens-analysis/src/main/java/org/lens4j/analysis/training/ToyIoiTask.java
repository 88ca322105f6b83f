package org.lens4j.analysis.training;

import ai.djl.ndarray.NDManager;
import java.util.Random;

/**
 * A toy version of the indirect-object-identification task (Wang et al., "Interpretability in the Wild:
 * a Circuit for Indirect Object Identification in GPT-2 small", 2022): "When Mary and John went to the
 * store, John gave a drink to" → "Mary". Two names appear; one of them (the subject S) appears again,
 * and the model must predict the other one (the indirect object IO) at the end.
 *
 * <p>Token ids: {@code 0} BOS; {@code 1 .. nNames} names; then the template words {@link #and()},
 * {@link #gave()}, {@link #to()}; then {@code nFillers} filler words. Every sequence has the template
 * <pre>
 * position: 0    1  2  3   4    5   6  7  8   9     10 11  12
 * token:    BOS  f  f  N1  AND  N2  f  f  S2  GAVE  f  TO  IO
 * </pre>
 * where {f} are random fillers, {N1, N2} two distinct random names in random order (ABBA or BABA), the
 * subject S2 is N1 or N2 at random, and IO is the other name. Only the prediction of the last token
 * counts in the loss.
 */
public final class ToyIoiTask implements TrainingTask {

    /** Position of the first name. */
    public static final int FIRST_NAME_POSITION = 3;
    /** Position of the second name. */
    public static final int SECOND_NAME_POSITION = 5;
    /** Position of the repeated subject (S2). */
    public static final int SUBJECT_POSITION = 8;
    /** Position of "to", where the IO is predicted (END). */
    public static final int END_POSITION = 11;
    /** Position of the answer token. */
    public static final int ANSWER_POSITION = 12;
    /** Sequence length. */
    public static final int LENGTH = 13;

    private static final int[] FILLER_POSITIONS = {1, 2, 6, 7, 10};

    private final int nNames;
    private final int nFillers;

    /**
     * One prompt and its answer.
     *
     * @param tokens {@code [LENGTH]} ids, the answer last
     * @param io the indirect object (the answer)
     * @param subject the repeated name
     * @param ioFirst whether the IO is the first name (ABBA order) rather than the second (BABA)
     */
    public record Example(long[] tokens, int io, int subject, boolean ioFirst) {}

    /**
     * @param nNames number of names, at least 2
     * @param nFillers number of filler words, at least 1
     */
    public ToyIoiTask(int nNames, int nFillers) {
        if (nNames < 2 || nFillers < 1) {
            throw new IllegalArgumentException("ToyIoiTask needs at least 2 names and 1 filler, not " + nNames + " and "
                    + nFillers);
        }
        this.nNames = nNames;
        this.nFillers = nFillers;
    }

    /** The token "and". */
    public int and() {
        return nNames + 1;
    }

    /** The token "gave". */
    public int gave() {
        return nNames + 2;
    }

    /** The token "to". */
    public int to() {
        return nNames + 3;
    }

    /** Whether a token id is a name. */
    public boolean isName(long token) {
        return token >= 1 && token <= nNames;
    }

    /** One random example. */
    public Example example(Random rng) {
        int a = 1 + rng.nextInt(nNames);
        int b = 1 + rng.nextInt(nNames - 1);
        if (b >= a) {
            b++;
        }
        boolean ioFirst = rng.nextBoolean();
        int io = ioFirst ? a : b;
        int subject = ioFirst ? b : a;
        long[] t = new long[LENGTH];
        for (int p : FILLER_POSITIONS) {
            t[p] = nNames + 4 + rng.nextInt(nFillers);
        }
        t[FIRST_NAME_POSITION] = a;
        t[4] = and();
        t[SECOND_NAME_POSITION] = b;
        t[SUBJECT_POSITION] = subject;
        t[9] = gave();
        t[END_POSITION] = to();
        t[ANSWER_POSITION] = io;
        return new Example(t, io, subject, ioFirst);
    }

    /** A batch whose loss mask keeps only the prediction of the answer (at {@link #END_POSITION}). */
    @Override
    public Batch sample(NDManager manager, int batchSize, Random rng) {
        long[][] tokens = new long[batchSize][];
        float[][] mask = new float[batchSize][LENGTH - 1];
        for (int i = 0; i < batchSize; i++) {
            tokens[i] = example(rng).tokens();
            mask[i][END_POSITION] = 1;
        }
        return new Batch(manager.create(tokens), manager.create(mask));
    }

    @Override
    public int vocabSize() {
        return nNames + 4 + nFillers;
    }

    @Override
    public int sequenceLength() {
        return LENGTH;
    }
}
