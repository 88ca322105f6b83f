package org.lens4j.analysis.ioi;

import java.util.Arrays;
import java.util.Objects;

/**
 * One IOI prompt and its ABC counterpart. The clean prompt names the indirect object (IO) once and the subject
 * (S) twice, "When Mary and John went to the store, John gave a drink to" (IO = Mary, S = John); the ABC prompt
 * is the same template with three distinct names, none of them IO or S, at the IO, S1 and S2 positions ("When
 * Anna and Paul went to the store, Kyle gave a drink to"). The prompt ends at END, the token after which the IO
 * is the answer.
 *
 * @param template index of the template in {@link IoiDataset#templates()}
 * @param order ABBA (IO first: "A and B ..., B gave ... to") or BABA (S first)
 * @param tokens the clean prompt {@code [pos]}, BOS first when the dataset prepends one
 * @param abcTokens the ABC prompt {@code [pos]}, same length and template
 * @param io the IO token (the answer)
 * @param s the S token
 * @param ioPos position of the IO in {@code tokens}
 * @param s1Pos position of the first S
 * @param s2Pos position of the second S
 * @param endPos position of END, the last token
 * @param text the clean prompt as text, or null for a dataset built from token ids
 * @param abcText the ABC prompt as text, or null
 */
public record IoiPrompt(int template, Order order, long[] tokens, long[] abcTokens, long io, long s, int ioPos,
        int s1Pos, int s2Pos, int endPos, String text, String abcText) {

    /** The order of the names in the first clause. */
    public enum Order {
        /** IO first: "When [A] and [B] ..., [B] gave ... to" -> [A]. */
        ABBA,
        /** S first: "When [B] and [A] ..., [B] gave ... to" -> [A]. */
        BABA
    }

    /** Copies the arrays and checks that the positions point at the names. */
    public IoiPrompt {
        Objects.requireNonNull(order, "order");
        tokens = tokens.clone();
        abcTokens = abcTokens.clone();
        if (abcTokens.length != tokens.length) {
            throw new IllegalArgumentException("ABC prompt has " + abcTokens.length + " tokens, clean prompt "
                    + tokens.length);
        }
        boolean inRange = ioPos >= 0 && s1Pos >= 0 && s2Pos >= 0 && Math.max(ioPos, Math.max(s1Pos, s2Pos)) < tokens.length;
        if (endPos != tokens.length - 1 || !inRange || tokens[ioPos] != io || tokens[s1Pos] != s || tokens[s2Pos] != s
                || !(s1Pos < s2Pos && ioPos < s2Pos && s2Pos < endPos)) {
            throw new IllegalArgumentException("positions IO " + ioPos + ", S1 " + s1Pos + ", S2 " + s2Pos + ", END "
                    + endPos + " do not fit the prompt " + Arrays.toString(tokens));
        }
    }

    /** The clean prompt's tokens {@code [pos]} (a copy). */
    @Override
    public long[] tokens() {
        return tokens.clone();
    }

    /** The ABC prompt's tokens {@code [pos]} (a copy). */
    @Override
    public long[] abcTokens() {
        return abcTokens.clone();
    }

    /** The number of tokens. */
    public int length() {
        return tokens.length;
    }

    /** Equal prompts have equal fields, token arrays compared by content. */
    @Override
    public boolean equals(Object o) {
        return o instanceof IoiPrompt p && template == p.template && order == p.order && Arrays.equals(tokens, p.tokens)
                && Arrays.equals(abcTokens, p.abcTokens) && io == p.io && s == p.s && ioPos == p.ioPos
                && s1Pos == p.s1Pos && s2Pos == p.s2Pos && endPos == p.endPos && Objects.equals(text, p.text)
                && Objects.equals(abcText, p.abcText);
    }

    @Override
    public int hashCode() {
        return Objects.hash(template, order, Arrays.hashCode(tokens), Arrays.hashCode(abcTokens), io, s, ioPos);
    }

    @Override
    public String toString() {
        return "IoiPrompt(" + order + ", template " + template + ", "
                + (text != null ? "'" + text + "'" : Arrays.toString(tokens)) + ", IO " + io + " at " + ioPos + ", S " + s
                + " at " + s1Pos + " and " + s2Pos + ", END " + endPos + ")";
    }
}
