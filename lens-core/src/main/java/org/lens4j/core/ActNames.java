package org.lens4j.core;

import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Short hook names to full ones, as TransformerLens's {@code utils.get_act_name}:
 * {@code getActName("pattern", 3)} is {@code blocks.3.attn.hook_pattern}, {@code getActName("k6a")} is
 * {@code blocks.6.attn.hook_k}, {@code getActName("resid_pre", 0)} is {@code blocks.0.hook_resid_pre}.
 */
public final class ActNames {

    private static final Pattern SHORTHAND = Pattern.compile("^([a-z]+)(\\d+)([a-z]?.*)$");
    private static final Map<String, String> ALIASES = Map.of(
            "attn", "pattern", "attn_logits", "attn_scores", "key", "k", "query", "q", "value", "v",
            "mlp_pre", "pre", "mlp_mid", "mid", "mlp_post", "post");
    private static final Set<String> ATTN_NAMES =
            Set.of("k", "v", "q", "z", "rot_k", "rot_q", "result", "pattern", "attn_scores");
    private static final Set<String> MLP_NAMES = Set.of("pre", "post", "mid", "pre_linear");
    private static final Map<String, String> LAYER_TYPE_ALIASES =
            Map.of("a", "attn", "m", "mlp", "b", "", "block", "", "blocks", "", "attention", "attn");

    private ActNames() {}

    /** A full name ({@code "blocks.0.hook_resid_pre"}, {@code "hook_embed"}) or shorthand ({@code "k6a"}). */
    public static String getActName(String name) {
        return getActName(name, null, null);
    }

    /** {@code getActName("resid_pre", 3)} = {@code blocks.3.hook_resid_pre}. */
    public static String getActName(String name, int layer) {
        return getActName(name, layer, null);
    }

    /**
     * TransformerLens's {@code get_act_name(name, layer, layer_type)}.
     *
     * @param layer the block, or null
     * @param layerType e.g. {@code "attn"}, {@code "mlp"}, {@code "ln1"}, or null
     */
    public static String getActName(String name, Integer layer, String layerType) {
        if ((name.contains(".") || name.startsWith("hook_")) && layer == null && layerType == null) {
            return name;
        }
        Matcher m = SHORTHAND.matcher(name);
        if (m.matches()) {
            name = m.group(1);
            layer = Integer.parseInt(m.group(2));
            layerType = m.group(3).isEmpty() ? null : m.group(3);
        }
        name = ALIASES.getOrDefault(name, name);
        StringBuilder full = new StringBuilder();
        if (layer != null) {
            full.append("blocks.").append(layer).append('.');
        }
        if (ATTN_NAMES.contains(name)) {
            layerType = "attn";
        } else if (MLP_NAMES.contains(name)) {
            layerType = "mlp";
        } else if (layerType != null) {
            layerType = LAYER_TYPE_ALIASES.getOrDefault(layerType, layerType);
        }
        if (layerType != null && !layerType.isEmpty()) {
            full.append(layerType).append('.');
        }
        full.append("hook_").append(name);
        if (layer == null && (name.equals("scale") || name.equals("normalized"))) {
            return "ln_final.hook_" + name;
        }
        return full.toString();
    }
}
