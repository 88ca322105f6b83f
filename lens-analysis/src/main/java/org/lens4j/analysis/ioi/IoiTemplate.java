package org.lens4j.analysis.ioi;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lens4j.analysis.ioi.IoiPrompt.Order;
import org.lens4j.core.tokens.Tokenizer;

/**
 * One template parsed into literal runs and slots, with the positions its slots take: every slot value is one
 * token, so all prompts of a template have the same length and positions.
 */
final class IoiTemplate {

    /** The slots of a template. */
    enum Slot { A, B, PLACE, OBJECT }

    /** A slot value: its token and, for text templates, its word (without the leading space). */
    record Word(long token, String text) {}

    /**
     * A literal run of the template, or a slot.
     *
     * @param text the literal text (text templates) or null
     * @param tokens the literal tokens, or null for a slot
     * @param slot the slot, or null for a literal
     */
    private record Part(String text, long[] tokens, Slot slot) {}

    private static final Pattern SLOT = Pattern.compile("\\[([A-Za-z]+)]");
    private static final String ANSWER = " [A]";

    private final String source;
    private final List<Part> parts;
    private final Long bos;
    private final Tokenizer tokenizer;
    private final int length;
    /** Positions of the first [B], the [A] and the second [B]. */
    private final int b1;
    private final int a;
    private final int b2;

    private IoiTemplate(String source, List<Part> parts, Long bos, Tokenizer tokenizer) {
        this.source = source;
        this.parts = parts;
        this.bos = bos;
        this.tokenizer = tokenizer;
        int pos = bos == null ? 0 : 1;
        List<Integer> bs = new ArrayList<>();
        int aPos = -1;
        for (Part p : parts) {
            if (p.slot() == Slot.A) {
                aPos = pos;
            } else if (p.slot() == Slot.B) {
                bs.add(pos);
            }
            pos += p.slot() == null ? p.tokens().length : 1;
        }
        this.length = pos;
        this.b1 = bs.get(0);
        this.a = aPos;
        this.b2 = bs.get(1);
    }

    /**
     * Parses a text template; each slot must follow a space (its value is the one-token word with that space).
     *
     * @param bos the BOS token to put first, or null for none
     */
    static IoiTemplate text(String template, Tokenizer tokenizer, Long bos) {
        String t = withoutAnswer(template);
        List<Part> parts = new ArrayList<>();
        Matcher m = SLOT.matcher(t);
        int end = 0;
        while (m.find()) {
            Slot slot = slot(m.group(1), template);
            if (m.start() == 0 || t.charAt(m.start() - 1) != ' ') {
                throw new IllegalArgumentException("template '" + template + "': slot [" + m.group(1) + "] at character "
                        + m.start() + " must follow a space (its value is a word with a leading space)");
            }
            literal(t.substring(end, m.start() - 1), tokenizer, parts);
            parts.add(new Part(null, null, slot));
            end = m.end();
        }
        literal(t.substring(end), tokenizer, parts);
        return checked(template, parts, bos, tokenizer);
    }

    private static void literal(String text, Tokenizer tokenizer, List<Part> parts) {
        if (!text.isEmpty()) {
            parts.add(new Part(text, tokenizer.toTokens(text, false), null));
        }
    }

    /**
     * Parses a token template: whitespace-separated token ids and the slots {@code [A]} and {@code [B]}, e.g.
     * {@code "0 5 6 [B] 7 [A] 8 9 [B] 10 11"} (BOS, if any, written as the first id).
     *
     * @param nameFrom first name id (inclusive): literal ids may not be names
     * @param nameTo last name id (exclusive)
     */
    static IoiTemplate ids(String template, long nameFrom, long nameTo) {
        String t = withoutAnswer(template).strip();
        List<Part> parts = new ArrayList<>();
        List<Long> run = new ArrayList<>();
        for (String item : t.isEmpty() ? new String[0] : t.split("\\s+")) {
            Matcher m = SLOT.matcher(item);
            if (m.matches()) {
                Slot slot = slot(m.group(1), template);
                if (slot != Slot.A && slot != Slot.B) {
                    throw new IllegalArgumentException("token template '" + template + "': only [A] and [B] slots, not "
                            + item);
                }
                idRun(run, parts);
                parts.add(new Part(null, null, slot));
                continue;
            }
            long id;
            try {
                id = Long.parseLong(item);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("token template '" + template + "': '" + item
                        + "' is neither a token id nor [A] / [B]", e);
            }
            if (id < 0 || (id >= nameFrom && id < nameTo)) {
                throw new IllegalArgumentException("token template '" + template + "': token id " + id
                        + (id < 0 ? " is negative" : " is in the name range [" + nameFrom + ", " + nameTo + ")"));
            }
            run.add(id);
        }
        idRun(run, parts);
        return checked(template, parts, null, null);
    }

    private static void idRun(List<Long> run, List<Part> parts) {
        if (!run.isEmpty()) {
            parts.add(new Part(null, run.stream().mapToLong(Long::longValue).toArray(), null));
            run.clear();
        }
    }

    /** The template without its trailing answer slot {@code " [A]"}, if it has one. */
    private static String withoutAnswer(String template) {
        return template.endsWith(ANSWER) ? template.substring(0, template.length() - ANSWER.length()) : template;
    }

    private static Slot slot(String name, String template) {
        try {
            return Slot.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("template '" + template + "': unknown slot [" + name
                    + "]; slots are [A], [B], [PLACE], [OBJECT]", e);
        }
    }

    /** Checks the BABA shape: [B] ... [A] ... [B] ... END, exactly one [A] and two [B]. */
    private static IoiTemplate checked(String template, List<Part> parts, Long bos, Tokenizer tokenizer) {
        List<Slot> names = new ArrayList<>();
        for (Part p : parts) {
            if (p.slot() == Slot.A || p.slot() == Slot.B) {
                names.add(p.slot());
            }
        }
        if (!names.equals(List.of(Slot.B, Slot.A, Slot.B))) {
            throw new IllegalArgumentException("template '" + template + "' must name [B], [A], [B] in this order (BABA "
                    + "form, optionally followed by the answer ' [A]'), not " + names);
        }
        if (parts.get(parts.size() - 1).slot() != null) {
            throw new IllegalArgumentException("template '" + template + "' must end with a word after the last slot "
                    + "(END, where the IO is predicted)");
        }
        return new IoiTemplate(template, List.copyOf(parts), bos, tokenizer);
    }

    /** The template as given. */
    String source() {
        return source;
    }

    /** Tokens per prompt. */
    int length() {
        return length;
    }

    /** Whether the template has a slot. */
    boolean uses(Slot slot) {
        return parts.stream().anyMatch(p -> p.slot() == slot);
    }

    /**
     * A prompt of this template.
     *
     * @param abc the ABC names at the IO, S1 and S2 positions
     */
    IoiPrompt fill(int templateIndex, Order order, Word io, Word s, Word[] abc, Word place, Word object) {
        int ioPos = order == Order.BABA ? a : b1;
        int s1Pos = order == Order.BABA ? b1 : a;
        Word[] clean = names(order, io, s, s);
        Word[] corrupted = names(order, abc[0], abc[1], abc[2]);
        long[] tokens = new long[length];
        long[] abcTokens = new long[length];
        StringBuilder text = tokenizer == null ? null : new StringBuilder();
        StringBuilder abcText = tokenizer == null ? null : new StringBuilder();
        int pos = 0;
        if (bos != null) {
            tokens[0] = bos;
            abcTokens[0] = bos;
            pos = 1;
        }
        int name = 0;
        for (Part p : parts) {
            if (p.slot() == null) {
                System.arraycopy(p.tokens(), 0, tokens, pos, p.tokens().length);
                System.arraycopy(p.tokens(), 0, abcTokens, pos, p.tokens().length);
                pos += p.tokens().length;
                append(text, p.text());
                append(abcText, p.text());
                continue;
            }
            Word w = p.slot() == Slot.PLACE ? place : p.slot() == Slot.OBJECT ? object : clean[name];
            Word c = p.slot() == Slot.PLACE ? place : p.slot() == Slot.OBJECT ? object : corrupted[name];
            if (p.slot() == Slot.A || p.slot() == Slot.B) {
                name++;
            }
            tokens[pos] = w.token();
            abcTokens[pos] = c.token();
            pos++;
            append(text, " " + w.text());
            append(abcText, " " + c.text());
        }
        if (tokenizer != null) {
            verify(templateIndex, text.toString(), tokens);
            verify(templateIndex, abcText.toString(), abcTokens);
        }
        return new IoiPrompt(templateIndex, order, tokens, abcTokens, io.token(), s.token(), ioPos, s1Pos, b2, length - 1,
                text == null ? null : text.toString(), abcText == null ? null : abcText.toString());
    }

    /** The words of the [B], [A], [B] slots for IO, first S and second S. */
    private static Word[] names(Order order, Word io, Word s1, Word s2) {
        return order == Order.BABA ? new Word[] {s1, io, s2} : new Word[] {io, s1, s2};
    }

    private static void append(StringBuilder sb, String s) {
        if (sb != null) {
            sb.append(s);
        }
    }

    /** The tokens assembled from the parts must be what the tokenizer makes of the whole text. */
    private void verify(int template, String text, long[] tokens) {
        long[] whole = tokenizer.toTokens(text, bos != null);
        if (!Arrays.equals(whole, tokens)) {
            throw new IllegalStateException("template " + template + " '" + source + "': the tokenizer turns '" + text
                    + "' into " + Arrays.toString(whole) + ", not the template's pieces " + Arrays.toString(tokens)
                    + " (it merges a slot with its neighbours; use another template)");
        }
    }
}
