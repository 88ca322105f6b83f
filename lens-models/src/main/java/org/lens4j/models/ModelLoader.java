package org.lens4j.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;
import org.lens4j.core.HookedTransformerConfig.NormalizationType;
import org.lens4j.core.LoadOptions;
import org.lens4j.core.PretrainedLoader;
import org.lens4j.core.tokens.Tokenizer;
import org.lens4j.models.zoo.ZooModels;
import org.lens4j.models.hub.HfHub;
import org.lens4j.models.hub.HubException;
import org.lens4j.models.hub.HubSettings;
import org.lens4j.models.io.ShardedSafetensors;

/**
 * The {@link PretrainedLoader} behind {@link HookedTransformer#fromPretrained}: turns a registry name, a hub
 * repo id, a local directory or a checkpoint file into a {@link HookedTransformer} with its tokenizer.
 *
 * <p>What a name means, in this order:
 * <ol>
 *   <li>an existing directory or file: loaded from disk, never touching the network. A directory holds
 *       {@code config.json} (Hugging Face GPT-2, Neel-style or TransformerLens, see {@link PretrainedConfig})
 *       and the weights (see {@link #loadDirectory}); a file is a checkpoint with {@code config.json} next to it;
 *   <li>a {@link Models} name or alias ({@code gpt2}, {@code attn-only-2l}): its hub repo;
 *   <li>{@code org/name}: that hub repo;
 *   <li>anything else: an {@link IllegalArgumentException} suggesting registered names.
 * </ol>
 * Hub files go through {@link HfHub} and its cache (settings from the environment: {@code HF_HOME},
 * {@code HF_ENDPOINT}, {@code HF_HUB_OFFLINE}, {@code HF_TOKEN}..., each of which may also be given as a Java
 * system property of the same name, which wins).
 *
 * <p>The weights are converted to TransformerLens names ({@link WeightFormat}), cast to the requested dtype
 * and processed as the {@link LoadOptions} say, exactly as TransformerLens's {@code from_pretrained} does.
 */
public final class ModelLoader implements PretrainedLoader {

    /** Environment variables the hub settings read, which system properties may override. */
    private static final Set<String> HUB_VARIABLES = Set.of("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
            "HF_ENDPOINT", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
            "HF_TOKEN_PATH", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT");

    /** Norm weights and biases: ln1, ln2, the SoLU MLP's ln and ln_final. */
    private static final Pattern NORM_WEIGHT = Pattern.compile("(blocks\\.\\d+\\.(ln1|ln2|mlp\\.ln)|ln_final)\\.[wb]");

    private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");

    private final Supplier<HfHub> hub;

    /** A loader whose hub settings come from the environment and system properties (read when first needed). */
    public ModelLoader() {
        this(() -> new HfHub(hubSettingsFromEnvironment()));
    }

    /**
     * A loader with explicit hub settings.
     *
     * @param settings endpoint, cache, offline switch and token for hub downloads
     */
    public ModelLoader(HubSettings settings) {
        Objects.requireNonNull(settings, "settings");
        this.hub = () -> new HfHub(settings);
    }

    private ModelLoader(Supplier<HfHub> hub) {
        this.hub = hub;
    }

    /**
     * The hub settings of the process: {@link HubSettings#fromEnvironment(Map)} over the environment, with
     * the Java system properties named like the variables ({@code -DHF_HOME=...}) taking precedence.
     *
     * @return the settings
     */
    public static HubSettings hubSettingsFromEnvironment() {
        Map<String, String> env = new HashMap<>(System.getenv());
        for (String name : HUB_VARIABLES) {
            String value = System.getProperty(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        return HubSettings.fromEnvironment(env);
    }

    @Override
    public HookedTransformer load(String nameOrPath, LoadOptions options) throws IOException {
        Objects.requireNonNull(nameOrPath, "nameOrPath");
        Optional<Path> local = existingPath(nameOrPath);
        if (local.isPresent()) {
            return load(local.get(), options);
        }
        if (ZooModels.list().contains(nameOrPath)) {
            return ZooModels.load(nameOrPath, options);
        }
        Optional<ModelInfo> registered = Models.find(nameOrPath);
        if (registered.isPresent()) {
            return loadFromHub(registered.get().repoId(), registered.get(), options);
        }
        if (REPO_ID.matcher(nameOrPath).matches()) {
            return loadFromHub(nameOrPath, null, options);
        }
        throw new IllegalArgumentException(Models.unknownMessage(nameOrPath) + "; no file or directory '"
                + nameOrPath + "' exists either");
    }

    /**
     * Loads from a local directory ({@link #loadDirectory}) or checkpoint file (with the {@code config.json}
     * next to it, {@link #loadCheckpoint}). Never touches the network.
     */
    @Override
    public HookedTransformer load(Path dirOrFile, LoadOptions options) throws IOException {
        if (Files.isDirectory(dirOrFile)) {
            return loadDirectory(dirOrFile, options);
        }
        if (Files.isRegularFile(dirOrFile)) {
            Path config = dirOrFile.toAbsolutePath().resolveSibling("config.json");
            if (!Files.isRegularFile(config)) {
                throw new NoSuchFileException(config.toString(), null, "a checkpoint file needs its config.json next "
                        + "to it, or pass the config explicitly (ModelLoader.loadCheckpoint, lens cache --config)");
            }
            return loadCheckpoint(dirOrFile, config, options);
        }
        throw new NoSuchFileException(dirOrFile.toAbsolutePath().toString(), null, "no such model directory or file");
    }

    /**
     * Loads a model directory: {@code config.json}, the weights, and {@code tokenizer.json} if present (for a
     * GPT-2 model without one, the bundled GPT-2 tokenizer). The weights are, for a Hugging Face config, the
     * first of {@code model.safetensors.index.json}, {@code model.safetensors}, {@code pytorch_model.bin};
     * otherwise the first file named {@code *final.pth}, else the first of {@code weights.safetensors},
     * {@code model.safetensors}, {@code model.safetensors.index.json}, {@code pytorch_model.bin},
     * {@code model.pth}, {@code model.pt}, else the only {@code .safetensors/.pth/.pt/.bin} file. A directory
     * inside a Hugging Face cache ({@code models--org--name/snapshots/<commit>}) is named after its repo.
     *
     * @param dir the directory
     * @param options processing, dtype
     * @return the model
     * @throws IOException if a file is missing, unreadable or malformed (named)
     * @throws IllegalArgumentException if the config or weights do not make a model (named)
     */
    public HookedTransformer loadDirectory(Path dir, LoadOptions options) throws IOException {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new NoSuchFileException(config.toAbsolutePath().toString(), null, "a model directory needs a config.json");
        }
        String name = localName(dir);
        PretrainedConfig pc = PretrainedConfig.read(config, name);
        List<String> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
        }
        Path weights = dir.resolve(CheckpointFiles.choose(pc.weightFormat(), files, "directory " + dir.toAbsolutePath()));
        return assemble(pc, weights, PretrainedTokenizers.fromDirectory(dir, pc.config()), options);
    }

    /**
     * Loads one checkpoint file with an explicit config: a TransformerLens state dict (any
     * {@code model.state_dict()}, e.g. {@code model_final.pth}) with a TransformerLens or Neel-style
     * {@code config.json}, or a Hugging Face GPT-2 checkpoint with its {@code config.json}. The tokenizer is
     * the {@code tokenizer.json} next to the checkpoint, if any (else the bundled one for GPT-2).
     *
     * @param checkpoint a {@code .pth/.pt/.bin} (PyTorch zip), {@code .safetensors} or shard index file
     * @param config the model's {@code config.json}
     * @param options processing, dtype
     * @return the model
     * @throws IOException if a file is missing, unreadable or malformed (named)
     * @throws IllegalArgumentException if the config or weights do not make a model (named)
     */
    public HookedTransformer loadCheckpoint(Path checkpoint, Path config, LoadOptions options) throws IOException {
        for (Path p : new Path[] {checkpoint, config}) {
            if (!Files.isRegularFile(p)) {
                throw new NoSuchFileException(p.toAbsolutePath().toString(), null, "no such file");
            }
        }
        Path dir = checkpoint.toAbsolutePath().getParent();
        PretrainedConfig pc = PretrainedConfig.read(config, localName(dir));
        return assemble(pc, checkpoint, PretrainedTokenizers.fromDirectory(dir, pc.config()), options);
    }

    /**
     * Loads from a hub repo (through the cache): {@code config.json}, the weights (the registry's file, or the
     * one the directory rules pick from the repo's listing; every shard of a sharded checkpoint) and the
     * tokenizer of {@code tokenizer_name} (else of the repo itself).
     *
     * @param repoId the hub repo
     * @param info the registry entry, or null for an unregistered repo
     * @param options processing, dtype, revision
     * @return the model
     */
    private HookedTransformer loadFromHub(String repoId, ModelInfo info, LoadOptions options) throws IOException {
        HfHub client = hub.get();
        String revision = options.revision();
        Path config;
        try {
            config = client.download(repoId, "config.json", revision);
        } catch (HubException e) {
            if (info == null && e.reason() == HubException.Reason.NOT_FOUND) {
                throw new IllegalArgumentException("'" + repoId + "' is not a local path, not a registered model name, "
                        + "and not a hub repo with a config.json: " + e.getMessage(), e);
            }
            throw e;
        }
        PretrainedConfig pc = PretrainedConfig.read(config, repoId);
        String weightsName = info != null && !info.weightsFile().contains("*") ? info.weightsFile()
                : CheckpointFiles.choose(pc.weightFormat(), client.listFiles(repoId, revision), "hub repo " + repoId);
        Path weights = client.download(repoId, weightsName, revision);
        if (weightsName.endsWith(ShardedSafetensors.INDEX_FILE)) {
            for (String shard : new LinkedHashSet<>(ShardedSafetensors.index(weights).weightMap().values())) {
                client.download(repoId, shard, revision);
            }
        }
        String tokenizerRepo = pc.config().tokenizerName() != null ? pc.config().tokenizerName()
                : info != null ? info.tokenizerRepo() : repoId;
        PretrainedTokenizers.Source tokenizer = PretrainedTokenizers.fromHub(client, tokenizerRepo,
                tokenizerRepo.equals(repoId) ? revision : null, pc.config());
        return assemble(pc, weights, tokenizer, options);
    }

    /**
     * Reads, converts, casts and processes the weights, then loads and attaches the tokenizer (after the
     * weights, so its memory does not add to the peak of loading them).
     */
    private static HookedTransformer assemble(PretrainedConfig pc, Path weights, PretrainedTokenizers.Source tokenizer,
            LoadOptions options) throws IOException {
        HookedTransformer model = build(pc, weights, options);
        try {
            Tokenizer t = tokenizer.open();
            if (t != null) {
                model.setTokenizer(t);
            }
            return model;
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static HookedTransformer build(PretrainedConfig pc, Path weights, LoadOptions options) throws IOException {
        HookedTransformerConfig cfg = pc.config().toBuilder().dtype(options.dtype()).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            LinkedHashMap<String, NDArray> stateDict =
                    pc.weightFormat().toTransformerLens(CheckpointFiles.read(weights, manager), cfg);
            // Cast before processing, so processing runs in the model's precision (as TransformerLens).
            castFloats(stateDict, cfg.dtype());
            if (!options.processing().foldLn()) {
                dropUnusedNormWeights(stateDict, cfg);
            }
            return HookedTransformer.fromStateDict(cfg, stateDict, options.processing());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(weights + ": " + e.getMessage(), e);
        }
    }

    /**
     * A model built with parameter-free norms (LNPre, RMSPre: the old SoLU models) has no use for norm weights
     * its checkpoint holds unless they are folded; TransformerLens's non-strict load ignores them, and so does
     * this.
     */
    private static void dropUnusedNormWeights(Map<String, NDArray> stateDict, HookedTransformerConfig cfg) {
        if (cfg.normalizationType() != NormalizationType.LN_PRE && cfg.normalizationType() != NormalizationType.RMS_PRE) {
            return;
        }
        stateDict.entrySet().removeIf(e -> {
            boolean norm = NORM_WEIGHT.matcher(e.getKey()).matches();
            if (norm) {
                e.getValue().close();
            }
            return norm;
        });
    }

    private static void castFloats(Map<String, NDArray> stateDict, DataType dtype) {
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            NDArray a = e.getValue();
            if (a.getDataType().isFloating() && a.getDataType() != dtype) {
                e.setValue(a.toType(dtype, false));
                a.close();
            }
        }
    }

    /** The path a name refers to, if such a file or directory exists. */
    private static Optional<Path> existingPath(String name) {
        try {
            Path p = Path.of(name);
            return Files.exists(p) ? Optional.of(p) : Optional.empty();
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }

    /**
     * The name TransformerLens would give a local model: the directory's name, or {@code org/name} for a
     * snapshot in a Hugging Face cache ({@code models--org--name/snapshots/<commit>}), so cached Neel Nanda
     * repos are recognised as such.
     */
    static String localName(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Path repoDir = parent == null ? null : parent.getParent();
        if (parent != null && repoDir != null && parent.getFileName().toString().equals("snapshots")
                && repoDir.getFileName().toString().startsWith("models--")) {
            return repoDir.getFileName().toString().substring("models--".length()).replace("--", "/");
        }
        return abs.getFileName() == null ? abs.toString() : abs.getFileName().toString();
    }
}
