package org.lens4j.analysis.probes;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.function.LongPredicate;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.lens4j.core.tokens.Tokenizer;

/**
 * A per-token label: what a probe should read from the activations. A feature gives every position
 * of a token sequence a class index in {@code [0, classNames().size())}, or {@link #SKIP} to leave
 * the position out of the probing set.
 *
 * <p>A binary feature has the classes {@code ["not <name>", "<name>"]}: label 1 where the feature
 * holds. Built-ins: {@link #seenBefore()}, {@link #isBos(long)}, {@link #tokenIn(long...)}, a
 * predicate on ids ({@link #tokenMatches}) or on the sequence ({@link #binary}), a regex on string
 * tokens ({@link #regex}); {@link #firstOf} turns several binary features into one multi-class one.
 */
public interface TokenFeature {

    /** The label of a position that is left out. */
    int SKIP = -1;

    /** A short name, e.g. {@code seen-before}. */
    String name();

    /** The class names, index = label; at least two. */
    List<String> classNames();

    /**
     * Labels one sequence.
     *
     * @param tokens token ids {@code [pos]}
     * @return one label per position {@code [pos]}: a class index or {@link #SKIP}
     */
    int[] labels(long[] tokens);

    /** Number of classes. */
    default int numClasses() {
        return classNames().size();
    }

    /**
     * A binary feature from a predicate on the sequence and the position.
     *
     * @param name the feature's name (class 1); class 0 is {@code "not " + name}
     * @param holds {@code (tokens [pos], position) -> whether the feature holds there}
     */
    static TokenFeature binary(String name, BiPredicate<long[], Integer> holds) {
        Objects.requireNonNull(holds, "holds");
        return new BinaryFeature(name, tokens -> {
            int[] labels = new int[tokens.length];
            for (int p = 0; p < tokens.length; p++) {
                labels[p] = holds.test(tokens, p) ? 1 : 0;
            }
            return labels;
        });
    }

    /** A binary feature from a predicate on the token id alone. */
    static TokenFeature tokenMatches(String name, LongPredicate holds) {
        Objects.requireNonNull(holds, "holds");
        return binary(name, (tokens, p) -> holds.test(tokens[p]));
    }

    /** {@code seen-before}: the token already occurred earlier in the same sequence. */
    static TokenFeature seenBefore() {
        return new BinaryFeature("seen-before", tokens -> {
            int[] labels = new int[tokens.length];
            Set<Long> seen = new HashSet<>();
            for (int p = 0; p < tokens.length; p++) {
                labels[p] = seen.add(tokens[p]) ? 0 : 1;
            }
            return labels;
        });
    }

    /** {@code is-bos}: the token is the BOS token {@code bos}. */
    static TokenFeature isBos(long bos) {
        return tokenMatches("is-bos", t -> t == bos);
    }

    /** {@code token-in:<ids>}: the token is one of {@code ids}. */
    static TokenFeature tokenIn(long... ids) {
        if (ids.length == 0) {
            throw new IllegalArgumentException("token-in needs at least one token id");
        }
        Set<Long> set = new HashSet<>();
        for (long id : ids) {
            set.add(id);
        }
        String name = "token-in:" + String.join(",", Arrays.stream(ids).mapToObj(Long::toString).toList());
        return tokenMatches(name, set::contains);
    }

    /**
     * A binary feature from a regular expression on the string tokens (each token decoded on its own,
     * as {@code to_str_tokens}); it holds where the regex is found in the token ({@link
     * java.util.regex.Matcher#find()}, so anchor it with {@code ^...$} to match whole tokens).
     *
     * @param regex e.g. {@code "^\\s*\\d+$"} for "is a number"
     * @param tokenizer decodes the ids; not closed here
     */
    static TokenFeature regex(String regex, Tokenizer tokenizer) {
        Pattern pattern;
        try {
            pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("label regex '" + regex + "' is invalid: " + e.getDescription(), e);
        }
        return strTokenMatches("regex:" + regex, s -> pattern.matcher(s).find(), tokenizer);
    }

    /** A binary feature from a predicate on each string token, decoded by {@code tokenizer}. */
    static TokenFeature strTokenMatches(String name, Predicate<String> holds, Tokenizer tokenizer) {
        Objects.requireNonNull(holds, "holds");
        Objects.requireNonNull(tokenizer, "tokenizer");
        return new BinaryFeature(name, tokens -> {
            List<String> strings = tokenizer.toStrTokens(tokens);
            int[] labels = new int[tokens.length];
            for (int p = 0; p < tokens.length; p++) {
                labels[p] = holds.test(strings.get(p)) ? 1 : 0;
            }
            return labels;
        });
    }

    /**
     * A multi-class feature from binary ones: the class of a position is the first feature that holds
     * there, or the last class, {@code "none"}, if none does. A position any feature skips is skipped.
     *
     * @param features at least one binary feature
     */
    static TokenFeature firstOf(List<TokenFeature> features) {
        return new FirstOfFeature(features);
    }

    /**
     * Parses a feature as written on the command line: {@code seen-before}, {@code is-bos} (the
     * tokenizer's BOS) or {@code is-bos:<id>}, {@code token-in:<id>,<id>,...}, {@code regex:<regex>},
     * or any other text as a regex on string tokens.
     *
     * @param spec the text
     * @param tokenizer the model's tokenizer, or null for a model of bare token ids (regexes then fail)
     */
    static TokenFeature parse(String spec, Tokenizer tokenizer) {
        Objects.requireNonNull(spec, "spec");
        if (spec.equals("seen-before")) {
            return seenBefore();
        }
        if (spec.equals("is-bos")) {
            if (tokenizer == null) {
                throw new IllegalArgumentException("label 'is-bos': the model has no tokenizer to say which token is "
                        + "BOS; write is-bos:<id>");
            }
            return isBos(tokenizer.bosTokenId());
        }
        if (spec.startsWith("is-bos:")) {
            return isBos(parseIds(spec, spec.substring("is-bos:".length()))[0]);
        }
        if (spec.startsWith("token-in:")) {
            return tokenIn(parseIds(spec, spec.substring("token-in:".length())));
        }
        String regex = spec.startsWith("regex:") ? spec.substring("regex:".length()) : spec;
        if (tokenizer == null) {
            throw new IllegalArgumentException("label '" + spec + "' is a regex on string tokens, but the model has no "
                    + "tokenizer; built-in labels: seen-before, is-bos:<id>, token-in:<ids>");
        }
        return regex(regex, tokenizer);
    }

    private static long[] parseIds(String spec, String ids) {
        try {
            long[] parsed = Arrays.stream(ids.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
            if (parsed.length == 0) {
                throw new NumberFormatException("no ids");
            }
            return parsed;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("label '" + spec + "': '" + ids + "' is not a comma-separated list of "
                    + "token ids", e);
        }
    }
}
