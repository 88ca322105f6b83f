package org.lens4j.core.tokens;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * A Hugging Face tokenizer ({@code tokenizer.json}) with TransformerLens's tokenisation semantics:
 * the {@code to_tokens}, {@code to_str_tokens}, {@code to_string}, {@code to_single_token} and
 * {@code get_token_position} of {@code HookedTransformer}, on plain Java arrays.
 *
 * <ul>
 *   <li><b>BOS.</b> With {@code prependBos}, a text gets the BOS token in front, as TransformerLens
 *       does: if the tokenizer's post-processor does not add BOS itself, the BOS <em>string</em> is
 *       prepended to the text before tokenising; if it does and BOS is not wanted, the first token
 *       is removed. The special tokens come from a {@code tokenizer_config.json} /
 *       {@code special_tokens_map.json} next to {@code tokenizer.json}; without them EOS is
 *       {@code <|endoftext|>} and BOS and PAD fall back to EOS (GPT-2: all three are 50256).
 *   <li><b>No truncation.</b> Texts are never cut (DJL would cut at 512 tokens by default); the
 *       caller checks the model's {@code n_ctx}.
 *   <li><b>Decoding</b> keeps special tokens and does no clean-up of spaces, so
 *       {@code toString(toTokens(s, false))} gives {@code s} back for byte-level tokenizers.
 * </ul>
 *
 * <p>The tokenizer owns native memory (the Rust tokenizer behind DJL): close it when done.
 */
public final class Tokenizer implements AutoCloseable {

    /** DJL options: no truncation, no padding (lens4j pads), special tokens added on request. */
    private static final Map<String, String> DJL_OPTIONS =
            Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");

    private final Path file;
    private final HuggingFaceTokenizer hf;
    private final Vocabulary vocabulary;
    private final SpecialTokens special;
    private final OptionalLong bosId;
    private final OptionalLong eosId;
    private final OptionalLong padId;
    /** Whether the tokenizer's post-processor adds BOS by itself (TL's tokenizer_prepends_bos). */
    private final boolean tokenizerPrependsBos;
    private final PaddingSide defaultPaddingSide;
    private volatile boolean closed;

    private Tokenizer(Path file, HuggingFaceTokenizer hf, Vocabulary vocabulary, SpecialTokens special,
            PaddingSide defaultPaddingSide) throws IOException {
        this.file = file;
        this.hf = hf;
        this.vocabulary = vocabulary;
        this.special = special;
        this.bosId = resolve(SpecialTokens.BOS_KEY, special.bos());
        this.eosId = resolve(SpecialTokens.EOS_KEY, special.eos());
        this.padId = resolve(SpecialTokens.PAD_KEY, special.pad());
        long[] empty = hf.encode("", true, false).getIds();
        this.tokenizerPrependsBos = bosId.isPresent() && empty.length > 0 && empty[0] == bosId.getAsLong();
        this.defaultPaddingSide = defaultPaddingSide;
    }

    /**
     * Loads a {@code tokenizer.json}, with right padding by default. Special tokens are read from a
     * {@code tokenizer_config.json} and {@code special_tokens_map.json} in the same directory, if
     * present.
     *
     * @param tokenizerJson path of a Hugging Face {@code tokenizer.json}
     * @return the tokenizer; close it when done
     * @throws NoSuchFileException if the file does not exist (the message names it)
     * @throws IOException if the file or a config file cannot be read or is not a valid tokenizer,
     *     or a configured special token is not in the vocabulary
     */
    public static Tokenizer fromFile(Path tokenizerJson) throws IOException {
        return fromFile(tokenizerJson, PaddingSide.RIGHT);
    }

    /**
     * Loads a {@code tokenizer.json} with the given default padding side (TransformerLens's
     * {@code default_padding_side}; a {@code padding_side} in {@code tokenizer_config.json} is
     * ignored, as TransformerLens ignores it).
     *
     * @param tokenizerJson path of a Hugging Face {@code tokenizer.json}
     * @param defaultPaddingSide the side {@link #defaultPaddingSide()} reports
     * @return the tokenizer; close it when done
     * @throws NoSuchFileException if the file does not exist (the message names it)
     * @throws IOException if the file or a config file cannot be read or is not a valid tokenizer,
     *     or a configured special token is not in the vocabulary
     */
    public static Tokenizer fromFile(Path tokenizerJson, PaddingSide defaultPaddingSide) throws IOException {
        Objects.requireNonNull(tokenizerJson, "tokenizerJson");
        Objects.requireNonNull(defaultPaddingSide, "defaultPaddingSide");
        Path file = tokenizerJson.toAbsolutePath().normalize();
        if (Files.isDirectory(file)) {
            throw new IOException(file + " is a directory, not a tokenizer.json file (use Tokenizer.fromDirectory)");
        }
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, "tokenizer file not found");
        }
        byte[] json = Files.readAllBytes(file);
        Vocabulary vocabulary = Vocabulary.parse(new String(json, StandardCharsets.UTF_8), file);
        SpecialTokens special = SpecialTokens.read(file.getParent());
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), DJL_OPTIONS);
        } catch (RuntimeException e) { // the Rust library rejects the JSON
            throw new IOException(file + ": not a valid tokenizer.json (" + e.getMessage() + ")", e);
        }
        try {
            return new Tokenizer(file, hf, vocabulary, special, defaultPaddingSide);
        } catch (IOException | RuntimeException e) {
            hf.close();
            throw e;
        }
    }

    /**
     * Loads {@code dir/tokenizer.json} (and the special tokens configured next to it), with right
     * padding by default.
     *
     * @param dir a directory holding {@code tokenizer.json}, e.g. a Hugging Face model snapshot
     * @return the tokenizer; close it when done
     * @throws NoSuchFileException if the directory or its {@code tokenizer.json} does not exist
     * @throws IOException as {@link #fromFile(Path)}
     */
    public static Tokenizer fromDirectory(Path dir) throws IOException {
        return fromDirectory(dir, PaddingSide.RIGHT);
    }

    /**
     * Loads {@code dir/tokenizer.json} with the given default padding side.
     *
     * @param dir a directory holding {@code tokenizer.json}
     * @param defaultPaddingSide the side {@link #defaultPaddingSide()} reports
     * @return the tokenizer; close it when done
     * @throws NoSuchFileException if the directory or its {@code tokenizer.json} does not exist
     * @throws IOException as {@link #fromFile(Path)}
     */
    public static Tokenizer fromDirectory(Path dir, PaddingSide defaultPaddingSide) throws IOException {
        Objects.requireNonNull(dir, "dir");
        if (!Files.exists(dir)) {
            throw new NoSuchFileException(dir.toAbsolutePath().toString(), null, "tokenizer directory not found");
        }
        if (!Files.isDirectory(dir)) {
            throw new NotDirectoryException(dir.toAbsolutePath().toString());
        }
        Path json = dir.resolve("tokenizer.json");
        if (!Files.exists(json)) {
            throw new NoSuchFileException(json.toAbsolutePath().toString(), null, "no tokenizer.json in the directory");
        }
        return fromFile(json, defaultPaddingSide);
    }

    /**
     * Tokenises one text (TransformerLens {@code to_tokens(text, prepend_bos)[0]}). Never truncates.
     *
     * @param text the text
     * @param prependBos whether position 0 is the BOS token
     * @return token ids {@code [pos]}
     * @throws IllegalStateException if {@code prependBos} but the tokenizer has no BOS token
     * @throws IllegalArgumentException if the tokenizer cannot encode the text (e.g. an unknown word
     *     and no unknown token)
     */
    public long[] toTokens(String text, boolean prependBos) {
        Objects.requireNonNull(text, "text");
        return encode(new String[] {text}, prependBos)[0];
    }

    /**
     * Tokenises a batch of texts and pads it to the longest (TransformerLens {@code to_tokens} on a
     * list) with the PAD token on the given side. The mask follows {@link #getAttentionMask}.
     *
     * @param texts the texts, at least one
     * @param prependBos whether each text starts with the BOS token
     * @param side where the padding goes
     * @return tokens {@code [batch, pos]} and attention mask {@code [batch, pos]}
     * @throws IllegalStateException if the texts differ in length and the tokenizer has no PAD token,
     *     or {@code prependBos} and it has no BOS token
     * @throws IllegalArgumentException if {@code texts} is empty or holds null, or a text cannot be
     *     encoded
     */
    public TokenBatch toTokens(List<String> texts, boolean prependBos, PaddingSide side) {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(side, "side");
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("texts is empty: nothing to tokenise");
        }
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i) == null) {
                throw new IllegalArgumentException("texts[" + i + "] is null");
            }
        }
        long[][] rows = encode(texts.toArray(String[]::new), prependBos);
        int length = Arrays.stream(rows).mapToInt(r -> r.length).max().orElse(0);
        long[][] tokens = new long[rows.length][];
        for (int b = 0; b < rows.length; b++) {
            tokens[b] = rows[b].length == length ? rows[b] : pad(rows[b], length, side, b);
        }
        return new TokenBatch(tokens, getAttentionMask(tokens, prependBos, side));
    }

    /**
     * TransformerLens's {@code utils.get_attention_mask}: 1 everywhere except padding, where padding
     * is recognised from the token ids alone. Right padding: the trailing run of PAD ids of each row
     * is 0. Left padding: the leading run of PAD ids is 0, and if {@code prependBos} and BOS = PAD
     * (GPT-2) the last of that run is the BOS token and is 1 again. Without a PAD token, all ones.
     *
     * @param tokens token ids {@code [batch, pos]}
     * @param prependBos whether the rows were tokenised with BOS
     * @param side which side was padded
     * @return the mask {@code [batch, pos]}, 1 = attend, 0 = padding
     */
    public long[][] getAttentionMask(long[][] tokens, boolean prependBos, PaddingSide side) {
        Objects.requireNonNull(tokens, "tokens");
        Objects.requireNonNull(side, "side");
        long[][] mask = new long[tokens.length][];
        for (int b = 0; b < tokens.length; b++) {
            long[] row = tokens[b];
            mask[b] = new long[row.length];
            Arrays.fill(mask[b], 1L);
            if (padId.isEmpty()) {
                continue;
            }
            long pad = padId.getAsLong();
            if (side == PaddingSide.RIGHT) {
                for (int p = row.length - 1; p >= 0 && row[p] == pad; p--) {
                    mask[b][p] = 0;
                }
            } else {
                int leading = 0;
                while (leading < row.length && row[leading] == pad) {
                    mask[b][leading++] = 0;
                }
                if (prependBos && leading > 0 && bosId.equals(padId)) {
                    mask[b][leading - 1] = 1; // the last leading "pad" is the BOS token
                }
            }
        }
        return mask;
    }

    /**
     * Tokenises a text and decodes each token on its own (TransformerLens {@code to_str_tokens}).
     *
     * @param text the text
     * @param prependBos whether the first token is BOS
     * @return one string per token, {@code [pos]}
     */
    public List<String> toStrTokens(String text, boolean prependBos) {
        return toStrTokens(toTokens(text, prependBos));
    }

    /**
     * Decodes each token on its own (TransformerLens {@code to_str_tokens} on a tensor). A token
     * holding part of a UTF-8 character decodes to U+FFFD, as in Python.
     *
     * @param tokens token ids {@code [pos]}
     * @return one string per token, {@code [pos]}
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    public List<String> toStrTokens(long[] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        checkIds(tokens, "");
        long[][] single = new long[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            single[i] = new long[] {tokens[i]};
        }
        ensureOpen();
        return List.of(hf.batchDecode(single, false));
    }

    /**
     * Decodes tokens to text (TransformerLens {@code to_string}): special tokens kept, no clean-up of
     * spaces.
     *
     * @param tokens token ids {@code [pos]}
     * @return the text
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    public String toString(long[] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        checkIds(tokens, "");
        ensureOpen();
        return hf.decode(tokens, false);
    }

    /**
     * Decodes each row of a batch (TransformerLens {@code to_string} on a 2-D tensor).
     *
     * @param tokens token ids {@code [batch, pos]} (rows may differ in length)
     * @return one text per row, {@code [batch]}
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    public List<String> toString(long[][] tokens) {
        Objects.requireNonNull(tokens, "tokens");
        for (int b = 0; b < tokens.length; b++) {
            Objects.requireNonNull(tokens[b], "tokens[" + b + "]");
            checkIds(tokens[b], b + ", ");
        }
        ensureOpen();
        return List.of(hf.batchDecode(tokens, false));
    }

    /**
     * The id of a string that is exactly one token, tokenised without BOS (TransformerLens
     * {@code to_single_token}).
     *
     * @param s the string, e.g. {@code " Mary"}
     * @return its token id
     * @throws IllegalArgumentException if {@code s} is not exactly one token (the message shows the
     *     tokens it is)
     */
    public long toSingleToken(String s) {
        long[] ids = toTokens(s, false);
        if (ids.length != 1) {
            throw new IllegalArgumentException(quote(s) + " is not a single token: it is " + ids.length
                    + " tokens " + quoteAll(toStrTokens(ids)) + " = " + Arrays.toString(ids));
        }
        return ids[0];
    }

    /**
     * Position of a token in a tokenised text (TransformerLens {@code get_token_position}); with BOS
     * the BOS token is position 0.
     *
     * @param singleToken a string that is exactly one token, e.g. {@code " cat"}
     * @param input the text to search
     * @param last false for the first occurrence ({@code mode="first"}), true for the last
     * @param prependBos whether {@code input} is tokenised with BOS
     * @return the position in {@code [0, pos)}
     * @throws IllegalArgumentException if {@code singleToken} is not one token or does not occur
     */
    public int getTokenPosition(String singleToken, String input, boolean last, boolean prependBos) {
        long token = toSingleToken(singleToken);
        long[] tokens = toTokens(input, prependBos);
        int position = find(token, tokens, last);
        if (position < 0) {
            throw new IllegalArgumentException("The token " + quote(singleToken) + " (" + token
                    + ") does not occur in the prompt " + quote(input) + " = " + quoteAll(toStrTokens(tokens)));
        }
        return position;
    }

    /**
     * Position of a token id in a token sequence (TransformerLens {@code get_token_position} on a
     * tensor).
     *
     * @param token the token id
     * @param tokens token ids {@code [pos]}
     * @param last false for the first occurrence, true for the last
     * @return the position in {@code [0, pos)}
     * @throws IllegalArgumentException if {@code token} does not occur in {@code tokens}
     */
    public int getTokenPosition(long token, long[] tokens, boolean last) {
        Objects.requireNonNull(tokens, "tokens");
        int position = find(token, tokens, last);
        if (position < 0) {
            throw new IllegalArgumentException("The token " + token + " does not occur in the prompt "
                    + Arrays.toString(tokens));
        }
        return position;
    }

    /**
     * @return the BOS token id (GPT-2: 50256)
     * @throws IllegalStateException if the tokenizer has no BOS token
     */
    public long bosTokenId() {
        return require(bosId, SpecialTokens.BOS_KEY, special.bos());
    }

    /**
     * @return the EOS token id (GPT-2: 50256)
     * @throws IllegalStateException if the tokenizer has no EOS token
     */
    public long eosTokenId() {
        return require(eosId, SpecialTokens.EOS_KEY, special.eos());
    }

    /**
     * @return the PAD token id (GPT-2: 50256, by the fallback to EOS)
     * @throws IllegalStateException if the tokenizer has no PAD token
     */
    public long padTokenId() {
        return require(padId, SpecialTokens.PAD_KEY, special.pad());
    }

    /** @return {@code d_vocab}: the largest token id (model vocabulary and added tokens) plus one */
    public int vocabSize() {
        return vocabulary.size();
    }

    /** @return the padding side chosen at load time, {@link PaddingSide#RIGHT} unless configured */
    public PaddingSide defaultPaddingSide() {
        return defaultPaddingSide;
    }

    /** Frees the native tokenizer. Later calls that need it throw {@link IllegalStateException}. */
    @Override
    public void close() {
        closed = true;
        hf.close();
    }

    /** @return the tokenizer file, for messages */
    @Override
    public String toString() {
        return "Tokenizer[" + file + "]";
    }

    /** Encodes texts with TransformerLens's BOS handling; each row unpadded. */
    private long[][] encode(String[] texts, boolean prependBos) {
        ensureOpen();
        for (int i = 0; i < texts.length; i++) {
            checkUnicode(texts[i], i);
        }
        if (prependBos && !tokenizerPrependsBos) {
            String bos = special.bos();
            require(bosId, SpecialTokens.BOS_KEY, bos);
            for (int i = 0; i < texts.length; i++) {
                texts[i] = bos + texts[i];
            }
        }
        long[][] rows = new long[texts.length][];
        for (int i = 0; i < texts.length; i++) {
            long[] ids = encodeOne(texts[i], i);
            if (prependBos && (ids.length == 0 || ids[0] != bosId.getAsLong())) {
                throw new IllegalStateException(this + " does not encode the BOS string " + quote(special.bos())
                        + " as the single token " + bosId.getAsLong() + " (it is not an added token of "
                        + "tokenizer.json); got " + Arrays.toString(ids));
            }
            rows[i] = !prependBos && tokenizerPrependsBos ? Arrays.copyOfRange(ids, 1, ids.length) : ids;
        }
        return rows;
    }

    /**
     * Encodes one text with the tokenizer's special tokens. One text per native call on purpose:
     * DJL's single-text encode turns a tokenizer error (e.g. an unknown word and no unknown token)
     * into a Java exception, while its batch encode aborts the JVM.
     */
    private long[] encodeOne(String text, int index) {
        try {
            return hf.encode(text, true, false).getIds();
        } catch (RuntimeException e) {
            String shown = text.length() <= 100 ? text : text.substring(0, 100) + "...";
            throw new IllegalArgumentException(this + " cannot encode text " + index + " " + quote(shown) + ": "
                    + e.getMessage(), e);
        }
    }

    /** The native side would silently turn an unpaired surrogate into U+FFFD; Python refuses it. */
    private static void checkUnicode(String text, int index) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(String.format(
                        "text %d is not valid Unicode: unpaired surrogate U+%04X at char %d", index, (int) c, i));
            }
        }
    }

    private long[] pad(long[] row, int length, PaddingSide side, int index) {
        if (padId.isEmpty()) {
            throw new IllegalStateException(this + " has no pad token (" + quote(special.pad())
                    + " is not in its vocabulary), so texts of different lengths cannot be batched: text "
                    + index + " has " + row.length + " tokens, the longest " + length);
        }
        long[] padded = new long[length];
        Arrays.fill(padded, padId.getAsLong());
        System.arraycopy(row, 0, padded, side == PaddingSide.RIGHT ? 0 : length - row.length, row.length);
        return padded;
    }

    private static int find(long token, long[] tokens, boolean last) {
        int found = -1;
        for (int p = 0; p < tokens.length; p++) {
            if (tokens[p] == token) {
                found = p;
                if (!last) {
                    break;
                }
            }
        }
        return found;
    }

    private void checkIds(long[] tokens, String rowPrefix) {
        int size = vocabSize();
        for (int p = 0; p < tokens.length; p++) {
            if (tokens[p] < 0 || tokens[p] >= size) {
                throw new IllegalArgumentException("token id " + tokens[p] + " at [" + rowPrefix + p
                        + "] is outside the vocabulary [0, " + size + ") of " + this);
            }
        }
    }

    /** A configured special token must exist; a fallback one may be absent. */
    private OptionalLong resolve(String key, String token) throws IOException {
        OptionalLong id = vocabulary.idOf(token);
        Path configuredIn = special.configuredIn().get(key);
        if (id.isEmpty() && configuredIn != null) {
            throw new IOException(configuredIn + " names " + key + " " + quote(token)
                    + ", which is not in the vocabulary of " + file);
        }
        return id;
    }

    /** Only a fallback token can be absent (see {@link #resolve}), hence the message. */
    private long require(OptionalLong id, String key, String token) {
        if (id.isEmpty()) {
            throw new IllegalStateException(this + " has no " + key + ": " + quote(token)
                    + " (TransformerLens's fallback) is not in its vocabulary; name one in tokenizer_config.json"
                    + (key.equals(SpecialTokens.BOS_KEY) ? " or tokenise with prependBos = false" : ""));
        }
        return id.getAsLong();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    private static String quote(String s) {
        return "'" + s + "'";
    }

    private static String quoteAll(List<String> strings) {
        List<String> quoted = new ArrayList<>(strings.size());
        strings.forEach(s -> quoted.add(quote(s)));
        return quoted.toString();
    }
}
