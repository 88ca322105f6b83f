package org.lens4j.models;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.tokens.Tokenizer;
import org.lens4j.models.hub.HfHub;
import org.lens4j.models.hub.HubException;

/**
 * Finds a pretrained model's tokenizer: a {@code tokenizer.json} next to the weights or in the model's
 * tokenizer repo on the hub ({@code tokenizer_name}, e.g. {@code NeelNanda/gpt-neox-tokenizer-digits} for
 * Neel Nanda's C4-Code models), with the GPT-2 tokenizer bundled in this module as the fallback for the
 * GPT-2 family, so GPT-2 works offline once its weights are cached.
 */
public final class PretrainedTokenizers {

    /** GPT-2's vocabulary size; with a {@code GPT2LMHeadModel} it means GPT-2's own tokenizer. */
    public static final int GPT2_VOCAB = 50257;

    /** The bundled tokenizer, OpenAI's GPT-2 BPE as a gzipped {@code tokenizer.json} (see PROVENANCE.md next to it). */
    private static final String GPT2_RESOURCE = "tokenizers/gpt2/tokenizer.json.gz";

    /** Files next to {@code tokenizer.json} that name the special tokens; optional. */
    private static final List<String> SPECIAL_TOKEN_FILES = List.of("tokenizer_config.json", "special_tokens_map.json");

    private PretrainedTokenizers() {}

    /**
     * The bundled GPT-2 tokenizer: byte-level BPE, 50,257 tokens, {@code <|endoftext|>} (50256) as BOS, EOS
     * and PAD, as TransformerLens sets GPT-2 up. Needs no network.
     *
     * @return a new tokenizer; close it (or give it to a model) when done
     * @throws IOException if the bundled file cannot be read
     */
    public static Tokenizer gpt2() throws IOException {
        Path dir = Files.createTempDirectory("lens4j-bundled-gpt2-tokenizer");
        Path json = dir.resolve("tokenizer.json");
        try {
            try (InputStream in = PretrainedTokenizers.class.getResourceAsStream(GPT2_RESOURCE)) {
                if (in == null) {
                    throw new IOException("the bundled GPT-2 tokenizer " + GPT2_RESOURCE + " is missing from lens-models");
                }
                try (InputStream gz = new GZIPInputStream(in)) {
                    Files.copy(gz, json);
                }
            }
            return Tokenizer.fromFile(json);
        } finally {
            Files.deleteIfExists(json);
            Files.deleteIfExists(dir);
        }
    }

    /** Whether a model uses GPT-2's tokenizer: a {@code GPT2LMHeadModel} with GPT-2's vocabulary. */
    static boolean usesGpt2Tokenizer(HookedTransformerConfig cfg) {
        return Gpt2Converter.ARCHITECTURE.equals(cfg.originalArchitecture()) && cfg.dVocab() == GPT2_VOCAB;
    }

    /**
     * A tokenizer found but not yet loaded: finding it (downloading its files) happens before the weights
     * are read, so a missing tokenizer fails fast; loading it (~150 MB for GPT-2's) happens after the
     * weights are processed, so it never adds to the loading peak.
     */
    @FunctionalInterface
    interface Source {
        /** No tokenizer. */
        Source NONE = () -> null;

        /**
         * Loads the tokenizer.
         *
         * @return the tokenizer, or null for none
         * @throws IOException if its files cannot be read
         */
        Tokenizer open() throws IOException;
    }

    /**
     * The tokenizer for a model in a local directory, without touching the network: the directory's
     * {@code tokenizer.json} (with its special-token files), else the bundled GPT-2 tokenizer for a GPT-2
     * model, else none.
     *
     * @param dir the model directory
     * @param cfg the model's config
     * @return where the tokenizer comes from
     */
    static Source fromDirectory(Path dir, HookedTransformerConfig cfg) {
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return () -> Tokenizer.fromDirectory(dir);
        }
        return usesGpt2Tokenizer(cfg) ? PretrainedTokenizers::gpt2 : Source.NONE;
    }

    /**
     * The tokenizer from a hub repo: its {@code tokenizer.json} and, when the repo has them, the
     * special-token files, downloaded now. A repo without {@code tokenizer.json} gives none. A GPT-2 model
     * falls back to the bundled tokenizer whenever the repo's cannot be had (not there, offline, unreachable).
     *
     * @param hub the hub client
     * @param repo the tokenizer repo
     * @param revision the revision, null for main
     * @param cfg the model's config
     * @return where the tokenizer comes from
     * @throws IOException if the tokenizer cannot be fetched (other than for GPT-2)
     */
    static Source fromHub(HfHub hub, String repo, String revision, HookedTransformerConfig cfg) throws IOException {
        Path json;
        try {
            json = hub.download(repo, "tokenizer.json", revision);
            for (String file : SPECIAL_TOKEN_FILES) {
                optionalDownload(hub, repo, file, revision);
            }
        } catch (HubException e) {
            if (usesGpt2Tokenizer(cfg)) {
                return PretrainedTokenizers::gpt2;
            }
            if (e.reason() == HubException.Reason.NOT_FOUND) {
                return Source.NONE;
            }
            throw e;
        }
        return () -> Tokenizer.fromFile(json);
    }

    private static void optionalDownload(HfHub hub, String repo, String file, String revision) throws IOException {
        try {
            hub.download(repo, file, revision);
        } catch (HubException e) {
            if (e.reason() != HubException.Reason.NOT_FOUND) {
                throw e;
            }
        }
    }
}
