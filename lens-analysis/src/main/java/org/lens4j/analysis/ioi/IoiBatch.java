package org.lens4j.analysis.ioi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;
import org.lens4j.analysis.dla.AnswerTokens;

/**
 * Prompts of one template, which share their length: one forward batch, END at the last position.
 *
 * @see IoiDataset#batches(int)
 */
public final class IoiBatch {

    private final int template;
    private final List<IoiPrompt> prompts;

    IoiBatch(int template, List<IoiPrompt> prompts) {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("an IOI batch needs at least one prompt");
        }
        this.template = template;
        this.prompts = List.copyOf(prompts);
    }

    /** The template index. */
    public int template() {
        return template;
    }

    /** The prompts. */
    public List<IoiPrompt> prompts() {
        return prompts;
    }

    /** The number of prompts. */
    public int size() {
        return prompts.size();
    }

    /** Tokens per prompt. */
    public int length() {
        return prompts.get(0).length();
    }

    /** The clean prompts {@code [batch, pos]} (int64), owned by {@code m}. */
    public NDArray tokens(NDManager m) {
        long[][] rows = new long[size()][];
        for (int b = 0; b < rows.length; b++) {
            rows[b] = prompts.get(b).tokens();
        }
        return m.create(rows);
    }

    /** The ABC prompts {@code [batch, pos]} (int64), owned by {@code m}. */
    public NDArray abcTokens(NDManager m) {
        long[][] rows = new long[size()][];
        for (int b = 0; b < rows.length; b++) {
            rows[b] = prompts.get(b).abcTokens();
        }
        return m.create(rows);
    }

    /** The IO token per prompt {@code [batch]}. */
    public long[] io() {
        return prompts.stream().mapToLong(IoiPrompt::io).toArray();
    }

    /** The S token per prompt {@code [batch]}. */
    public long[] s() {
        return prompts.stream().mapToLong(IoiPrompt::s).toArray();
    }

    /** The logit difference IO - S at END (the last position), for direct logit attribution. */
    public AnswerTokens answers() {
        return AnswerTokens.difference(io(), s());
    }

    /** {@code {IO, S}} per prompt, {@code [batch][2]}, for {@code PatchingMetric.logitDiff(long[][])}. */
    public long[][] answerPairs() {
        long[][] out = new long[size()][];
        for (int b = 0; b < out.length; b++) {
            out[b] = new long[] {prompts.get(b).io(), prompts.get(b).s()};
        }
        return out;
    }
}
