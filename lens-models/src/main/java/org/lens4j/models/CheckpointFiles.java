package org.lens4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.lens4j.core.io.Safetensors;
import org.lens4j.models.io.ShardedSafetensors;
import org.lens4j.models.io.WeightFiles;

/** Which file of a model directory or hub repo holds the weights, and reading it. */
final class CheckpointFiles {

    /** A Hugging Face model's weight files, in order of preference (as {@code from_pretrained}). */
    static final List<String> HF_FILES = WeightFiles.DIRECTORY_FILES;

    /** A TransformerLens-format model's usual weight files, after TransformerLens's {@code *final.pth} rule. */
    static final List<String> TL_FILES = List.of("weights.safetensors", "model.safetensors",
            ShardedSafetensors.INDEX_FILE, "pytorch_model.bin", "model.pth", "model.pt");

    private static final List<String> WEIGHT_EXTENSIONS = List.of(".safetensors", ".pth", ".pt", ".bin");

    /** Buffers stored next to parameters: GPT-2's causal masks, TransformerLens's attention mask and IGNORE. */
    private static final Pattern BUFFER = Pattern.compile(".*\\.attn\\.(bias|masked_bias|mask|IGNORE)");

    private CheckpointFiles() {}

    /**
     * Picks the weight file among the files of a directory or repo. Hugging Face models: the first of
     * {@link #HF_FILES}. TransformerLens-format models: the first file whose name ends in {@code final.pth}
     * (TransformerLens's rule for Neel Nanda's repos), else the first of {@link #TL_FILES}, else the only
     * top-level {@code .safetensors/.pth/.pt/.bin} file.
     *
     * @param format the checkpoint's weight format
     * @param names the file names, relative, with '/' separators
     * @param where the directory or repo, for messages
     * @return the chosen name
     * @throws IllegalArgumentException if there is none, or several candidates and no rule to choose
     */
    static String choose(WeightFormat format, List<String> names, String where) {
        if (format == WeightFormat.HF_GPT2) {
            return HF_FILES.stream().filter(names::contains).findFirst().orElseThrow(() ->
                    new IllegalArgumentException(where + " holds none of the weight files " + HF_FILES
                            + " of a Hugging Face model (files: " + names + ")"));
        }
        for (String name : names) {
            if (name.endsWith("final.pth")) {
                return name;
            }
        }
        for (String name : TL_FILES) {
            if (names.contains(name)) {
                return name;
            }
        }
        List<String> candidates = names.stream().filter(n -> !n.contains("/"))
                .filter(n -> WEIGHT_EXTENSIONS.stream().anyMatch(n.toLowerCase(Locale.ROOT)::endsWith)).toList();
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        throw new IllegalArgumentException(where + (candidates.isEmpty()
                ? " holds no weight file (.safetensors, .pth, .pt or .bin); files: " + names
                : " holds several weight files " + candidates + " and none is named *final.pth or one of "
                        + TL_FILES + ": pass the checkpoint file itself (with its config)"));
    }

    /**
     * Reads a weight file of any supported format. From a single safetensors file the attention-mask
     * buffers are skipped without being loaded (GPT-2's files carry a {@code [1, 1, n_ctx, n_ctx]} mask per
     * layer); from other formats they are read and later ignored.
     *
     * @param file a {@code .safetensors}, {@code .index.json}, {@code .pth}, {@code .pt} or {@code .bin} file
     * @param manager owner of the arrays
     * @return the tensors by name
     * @throws IOException if the file cannot be read or is malformed
     */
    static LinkedHashMap<String, NDArray> read(Path file, NDManager manager) throws IOException {
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            return Safetensors.read(file, manager, Predicate.not(CheckpointFiles::isBuffer));
        }
        return WeightFiles.readAny(file, manager);
    }

    /** Whether a checkpoint key names a buffer rather than a parameter. */
    static boolean isBuffer(String key) {
        return BUFFER.matcher(key).matches();
    }
}
