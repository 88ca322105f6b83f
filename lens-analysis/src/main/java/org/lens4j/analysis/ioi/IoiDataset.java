package org.lens4j.analysis.ioi;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.lens4j.analysis.ioi.IoiPrompt.Order;
import org.lens4j.analysis.ioi.IoiTemplate.Slot;
import org.lens4j.analysis.ioi.IoiTemplate.Word;
import org.lens4j.core.tokens.Tokenizer;

/**
 * An indirect-object-identification dataset (Wang et al. 2022): prompts such as "Then, John and Mary went to
 * the store. John gave a drink to" whose answer is the indirect object (IO, Mary), each with its ABC
 * counterpart (the same template with three other names). Immutable; prompts are drawn with
 * {@code java.util.Random(seed)}.
 *
 * <p>Two ways to build one:
 * <ul>
 *   <li>{@link #fromTokenizer}: the paper's templates ({@link IoiTemplates#BABA}) and word lists, keeping the
 *       names, places and objects that are one token with a leading space for the tokenizer;</li>
 *   <li>{@link #fromTokenIds}: for models with an integer vocabulary and no tokenizer, templates of token ids
 *       with {@code [A]} / {@code [B]} name slots, names drawn from an id range.</li>
 * </ul>
 *
 * <p>Prompt {@code i} uses template {@code (i / 2) mod T} in ABBA order for even {@code i} and BABA for odd
 * {@code i}, so templates and orders are balanced (with one order only: template {@code i mod T}). IO and S are
 * two distinct random names; the ABC names are three distinct random names other than IO and S; the place and
 * object are random (one of each per prompt, shared by the clean and ABC prompts). All prompts of a template
 * have the same length, so {@link #batches} groups them by template without padding.
 *
 * <pre>{@code
 * IoiDataset gpt2 = IoiDataset.fromTokenizer(model.tokenizer()).prompts(60).seed(1).build();
 * IoiDataset toy = IoiDataset.fromTokenIds(List.of("0 5 6 [B] 7 [A] 8 9 [B] 10 11"), 20, 40).prompts(32).build();
 * }</pre>
 */
public final class IoiDataset {

    private final List<String> templates;
    private final List<IoiPrompt> prompts;

    private IoiDataset(List<String> templates, List<IoiPrompt> prompts) {
        this.templates = List.copyOf(templates);
        this.prompts = List.copyOf(prompts);
    }

    /**
     * A text dataset built with a tokenizer: by default the paper's 15 templates, names, places and objects,
     * BOS prepended (as TransformerLens's {@code to_tokens}).
     */
    public static TextBuilder fromTokenizer(Tokenizer tokenizer) {
        return new TextBuilder(Objects.requireNonNull(tokenizer, "tokenizer"));
    }

    /**
     * A dataset of token ids for models without a tokenizer. A template is a whitespace-separated list of token
     * ids and name slots in BABA form, e.g. {@code "0 5 6 [B] 7 [A] 8 9 [B] 10 11"}: BOS 0, then the literal
     * ids, {@code [B]} the subject (twice), {@code [A]} the IO; the last id is END. A trailing {@code " [A]"}
     * (the answer) is allowed and dropped. Names are the ids {@code nameFrom <= id < nameTo}; literal ids may
     * not be names.
     *
     * @param templates one or more token templates
     * @param nameFrom first name id
     * @param nameTo one past the last name id; at least 5 names (IO, S and three ABC names)
     */
    public static TokenBuilder fromTokenIds(List<String> templates, long nameFrom, long nameTo) {
        return new TokenBuilder(templates, nameFrom, nameTo);
    }

    /** The prompts, in generation order. */
    public List<IoiPrompt> prompts() {
        return prompts;
    }

    /** The number of prompts. */
    public int size() {
        return prompts.size();
    }

    /** The templates as given, indexed by {@link IoiPrompt#template()}. */
    public List<String> templates() {
        return templates;
    }

    /**
     * The prompts grouped by template (in template order, prompts in dataset order), each group cut into
     * batches of at most {@code maxBatchSize}.
     */
    public List<IoiBatch> batches(int maxBatchSize) {
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be >= 1, not " + maxBatchSize);
        }
        List<IoiBatch> out = new ArrayList<>();
        for (int t = 0; t < templates.size(); t++) {
            List<IoiPrompt> group = new ArrayList<>();
            for (IoiPrompt p : prompts) {
                if (p.template() == t) {
                    group.add(p);
                }
            }
            for (int from = 0; from < group.size(); from += maxBatchSize) {
                out.add(new IoiBatch(t, group.subList(from, Math.min(group.size(), from + maxBatchSize))));
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "IoiDataset(" + prompts.size() + " prompts, " + templates.size() + " templates)";
    }

    /**
     * The options both kinds of dataset share.
     *
     * @param <B> the concrete builder
     */
    public abstract static class Builder<B extends Builder<B>> {

        private int prompts = 100;
        private long seed;
        private List<Order> orders = List.of(Order.ABBA, Order.BABA);

        Builder() {}

        abstract B self();

        /** How many prompts (default 100). */
        public B prompts(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("prompts must be >= 1, not " + n);
            }
            prompts = n;
            return self();
        }

        /** The random seed (default 0). */
        public B seed(long v) {
            seed = v;
            return self();
        }

        /** The name orders to use (default ABBA and BABA, alternating). */
        public B orders(Order... v) {
            LinkedHashSet<Order> set = new LinkedHashSet<>(List.of(v));
            if (set.isEmpty() || set.size() != v.length) {
                throw new IllegalArgumentException("orders must be one or both of ABBA, BABA without repeats, not "
                        + List.of(v));
            }
            orders = List.copyOf(set);
            return self();
        }

        /** Builds the dataset. */
        public abstract IoiDataset build();

        /** Draws the prompts. */
        IoiDataset generate(List<String> sources, List<IoiTemplate> templates, List<Word> names, List<Word> places,
                List<Word> objects) {
            if (names.size() < 5) {
                throw new IllegalArgumentException("an IOI dataset needs at least 5 names (IO, S and three ABC names), "
                        + "have " + names.size());
            }
            for (IoiTemplate t : templates) {
                if ((t.uses(Slot.PLACE) && places.isEmpty()) || (t.uses(Slot.OBJECT) && objects.isEmpty())) {
                    throw new IllegalArgumentException("template '" + t.source() + "' needs "
                            + (t.uses(Slot.PLACE) && places.isEmpty() ? "places" : "objects") + " but none is one token");
                }
            }
            Random rng = new Random(seed);
            boolean both = orders.size() == 2;
            List<IoiPrompt> out = new ArrayList<>(prompts);
            for (int i = 0; i < prompts; i++) {
                Order order = both ? (i % 2 == 0 ? Order.ABBA : Order.BABA) : orders.get(0);
                int t = (both ? i / 2 : i) % templates.size();
                int[] n = distinct(rng, names.size(), 5);
                Word place = places.isEmpty() ? null : places.get(rng.nextInt(places.size()));
                Word object = objects.isEmpty() ? null : objects.get(rng.nextInt(objects.size()));
                Word[] abc = {names.get(n[2]), names.get(n[3]), names.get(n[4])};
                out.add(templates.get(t).fill(t, order, names.get(n[0]), names.get(n[1]), abc, place, object));
            }
            return new IoiDataset(sources, out);
        }

        /** {@code k} distinct indices in {@code [0, n)}. */
        private static int[] distinct(Random rng, int n, int k) {
            int[] out = new int[k];
            for (int i = 0; i < k; i++) {
                boolean repeated;
                do {
                    out[i] = rng.nextInt(n);
                    repeated = false;
                    for (int j = 0; j < i; j++) {
                        repeated |= out[j] == out[i];
                    }
                } while (repeated);
            }
            return out;
        }
    }

    /** Builds a text dataset with a tokenizer. */
    public static final class TextBuilder extends Builder<TextBuilder> {

        private final Tokenizer tokenizer;
        private List<String> templates = IoiTemplates.BABA;
        private List<String> names = IoiTemplates.NAMES;
        private List<String> places = IoiTemplates.PLACES;
        private List<String> objects = IoiTemplates.OBJECTS;
        private boolean prependBos = true;

        private TextBuilder(Tokenizer tokenizer) {
            this.tokenizer = tokenizer;
        }

        @Override
        TextBuilder self() {
            return this;
        }

        /**
         * Templates in BABA form with the slots {@code [A]}, {@code [B]}, {@code [PLACE]}, {@code [OBJECT]}
         * (default {@link IoiTemplates#BABA}); each slot follows a space.
         */
        public TextBuilder templates(List<String> v) {
            templates = nonEmpty(v, "templates");
            return this;
        }

        /** Candidate names, without leading space (default {@link IoiTemplates#NAMES}). */
        public TextBuilder names(List<String> v) {
            names = nonEmpty(v, "names");
            return this;
        }

        /** Candidate places (default {@link IoiTemplates#PLACES}). */
        public TextBuilder places(List<String> v) {
            places = List.copyOf(v);
            return this;
        }

        /** Candidate objects (default {@link IoiTemplates#OBJECTS}). */
        public TextBuilder objects(List<String> v) {
            objects = List.copyOf(v);
            return this;
        }

        /** Whether prompts start with BOS (default true). */
        public TextBuilder prependBos(boolean v) {
            prependBos = v;
            return this;
        }

        /**
         * Tokenises the templates and word lists and draws the prompts.
         *
         * @throws IllegalArgumentException if a template is malformed or fewer than 5 names are one token
         * @throws IllegalStateException if the tokenizer merges a slot with the text around it
         */
        @Override
        public IoiDataset build() {
            Long bos = prependBos ? tokenizer.bosTokenId() : null;
            List<IoiTemplate> parsed = new ArrayList<>();
            for (String t : templates) {
                parsed.add(IoiTemplate.text(t, tokenizer, bos));
            }
            return generate(templates, parsed, singleTokens(names), singleTokens(places), singleTokens(objects));
        }

        /** The words that are one token with a leading space. */
        private List<Word> singleTokens(List<String> words) {
            List<Word> out = new ArrayList<>();
            for (String w : words) {
                long[] ids = tokenizer.toTokens(" " + w, false);
                if (ids.length == 1) {
                    out.add(new Word(ids[0], w));
                }
            }
            return out;
        }
    }

    /** Builds a dataset from token-id templates. */
    public static final class TokenBuilder extends Builder<TokenBuilder> {

        private final List<String> templates;
        private final long nameFrom;
        private final long nameTo;

        private TokenBuilder(List<String> templates, long nameFrom, long nameTo) {
            this.templates = nonEmpty(templates, "templates");
            if (nameFrom < 0 || nameTo - nameFrom < 5) {
                throw new IllegalArgumentException("name ids [" + nameFrom + ", " + nameTo + ") must be non-negative and "
                        + "hold at least 5 names (IO, S and three ABC names)");
            }
            this.nameFrom = nameFrom;
            this.nameTo = nameTo;
        }

        @Override
        TokenBuilder self() {
            return this;
        }

        /** Parses the templates and draws the prompts. */
        @Override
        public IoiDataset build() {
            List<IoiTemplate> parsed = new ArrayList<>();
            for (String t : templates) {
                parsed.add(IoiTemplate.ids(t, nameFrom, nameTo));
            }
            List<Word> names = new ArrayList<>();
            for (long id = nameFrom; id < nameTo; id++) {
                names.add(new Word(id, null));
            }
            return generate(templates, parsed, names, List.of(), List.of());
        }
    }

    private static List<String> nonEmpty(List<String> v, String what) {
        if (v.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        return List.copyOf(v);
    }
}
