package org.lens4j.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import org.lens4j.core.CacheOptions;
import org.lens4j.core.CachedRun;
import org.lens4j.core.ForwardOptions;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.LoadOptions;
import org.lens4j.core.ProcessingOptions;
import org.lens4j.core.ReturnType;
import org.lens4j.core.io.Safetensors;
import org.lens4j.models.ModelLoader;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lens cache}: runs a model on tokens and writes the logits, the per-token loss and every kept
 * activation to a safetensors file ({@code logits}, {@code loss_per_token}, {@code cache.<hook name>}),
 * for numpy, PyTorch or any safetensors reader.
 */
@Command(name = "cache", mixinStandardHelpOptions = true,
        description = "Run a model and write logits, per-token loss and cached activations to safetensors.")
public final class CacheCommand implements Callable<Integer> {

    @Option(names = "--model", required = true,
            description = "A registry name or alias (gpt2, attn-only-2l, ...), a hub repo id (org/name), a model "
                    + "directory (Hugging Face GPT-2, TransformerLens or Neel Nanda layout), or a checkpoint file "
                    + "(with --config, or with a config.json next to it).")
    String model;

    @Option(names = "--config", description = "The config.json of a single checkpoint file given as --model.")
    Path config;

    @Option(names = "--revision", description = "Hub revision (branch, tag or commit) for a hub model (default main).")
    String revision;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TokenSource tokens;

    static final class TokenSource {
        @Option(names = "--tokens", description = "Token ids: rows separated by ';', ids by ',' (e.g. \"1,2,3;4,5,6\").")
        String inline;

        @Option(names = "--tokens-file", description = "A safetensors file with an I64 tensor \"tokens\" [batch, pos].")
        Path file;
    }

    @Option(names = "--no-processing", description = "Do not process weights (from_pretrained_no_processing).")
    boolean noProcessing;

    @Option(names = "--dtype", defaultValue = "float32", description = "float32 or float64 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--hooks", defaultValue = "all",
            description = "all, or hook names (full or shorthand) separated by commas (default ${DEFAULT-VALUE}).")
    String hooks;

    @Option(names = "--out", required = true, description = "The safetensors file to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
        DataType type = switch (dtype) {
            case "float32" -> DataType.FLOAT32;
            case "float64" -> DataType.FLOAT64;
            default -> throw new IllegalArgumentException("--dtype must be float32 or float64, not " + dtype);
        };
        LoadOptions options = LoadOptions.defaults().withDtype(type).withRevision(revision)
                .withProcessing(noProcessing ? ProcessingOptions.NONE : ProcessingOptions.DEFAULT);
        try (HookedTransformer m = config != null
                     ? new ModelLoader().loadCheckpoint(Path.of(model), config, options)
                     : HookedTransformer.fromPretrained(model, options);
             NDManager manager = NDManager.newBaseManager()) {
            NDArray input = tokens.inline != null ? parseTokens(tokens.inline, manager) : readTokens(tokens.file, manager);
            CacheOptions cacheOptions = CacheOptions.filter(hookFilter(m))
                    .withForward(ForwardOptions.builder().returnType(ReturnType.BOTH).lossPerToken(true).build());
            try (CachedRun run = m.runWithCache(input, cacheOptions)) {
                Map<String, NDArray> tensors = new LinkedHashMap<>();
                tensors.put("logits", run.logits());
                tensors.put("loss_per_token", run.output().loss());
                for (Map.Entry<String, NDArray> e : run.cache().asMap().entrySet()) {
                    tensors.put("cache." + e.getKey(), e.getValue());
                }
                Safetensors.write(out, tensors, Map.of("model", model, "lens4j", "0.1.0",
                        "processing", noProcessing ? "none" : "default"));
                System.out.printf("wrote %d tensors (%d cached hooks) for tokens %s to %s%n", tensors.size(),
                        run.cache().size(), input.getShape(), out);
            }
        }
        return 0;
    }

    private Predicate<String> hookFilter(HookedTransformer m) {
        if (hooks.equals("all")) {
            return name -> true;
        }
        Set<String> wanted = new HashSet<>();
        for (String h : hooks.split(",")) {
            wanted.add(m.hookPoint(h.trim()).name());
        }
        return wanted::contains;
    }

    /** Parses {@code "1,2,3;4,5,6"} into int64 {@code [2, 3]}. */
    static NDArray parseTokens(String text, NDManager manager) {
        String[] rows = text.trim().split(";");
        long[][] ids = new long[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            try {
                ids[r] = Arrays.stream(rows[r].trim().split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--tokens row " + r + " is not a comma-separated list of ids: '"
                        + rows[r] + "'", e);
            }
            if (ids[r].length != ids[0].length) {
                throw new IllegalArgumentException("--tokens rows must have the same length: row 0 has "
                        + ids[0].length + ", row " + r + " has " + ids[r].length);
            }
        }
        return manager.create(ids);
    }

    static NDArray readTokens(Path file, NDManager manager) throws java.io.IOException {
        NDArray t = Safetensors.read(file, manager, "tokens"::equals).get("tokens");
        if (t == null) {
            throw new IllegalArgumentException(file + " has no tensor named \"tokens\"");
        }
        if (t.getDataType() != DataType.INT64) {
            throw new IllegalArgumentException(file + ": \"tokens\" must be I64, not " + t.getDataType());
        }
        return t;
    }
}
