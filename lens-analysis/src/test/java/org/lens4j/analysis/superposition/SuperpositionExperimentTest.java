package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;

class SuperpositionExperimentTest {
    private static final String FULL = """
            {"experiments": [
              {"name": "pairs", "model": "relu-output", "n_features": 6, "d_hidden": 2,
               "feature_probability": [0.05, 0.01], "importance": [1, 1, 1, 1, 0.5, 0.5],
               "n_correlated_pairs": 1, "n_anticorrelated_pairs": 1, "restarts": 3,
               "steps": 500, "batch_size": 256, "lr": 0.01, "warmup_fraction": 0.1, "seed": 7},
              {"name": "abs", "model": "neuron-computation", "n_features": 4, "d_hidden": 3,
               "feature_probability": [0.5]}
            ]}
            """;

    private static List<SuperpositionExperiment> parse(String json) {
        return SuperpositionExperiment.fromJson(new StringReader(json), "test.json");
    }

    @Test
    void readsEveryKeyAndAppliesDefaults() {
        List<SuperpositionExperiment> experiments = parse(FULL);
        assertThat(experiments).extracting(SuperpositionExperiment::name)
                .containsExactly("pairs", "abs");
        SuperpositionExperiment pairs = experiments.get(0);
        ToyModelConfig c = pairs.config();
        assertThat(c.kind()).isEqualTo(ToyModelKind.RELU_OUTPUT);
        assertThat(c.nInstances()).isEqualTo(2);
        assertThat(c.nFeatures()).isEqualTo(6);
        assertThat(c.dHidden()).isEqualTo(2);
        assertThat(c.nCorrelatedPairs()).isEqualTo(1);
        assertThat(c.nAnticorrelatedPairs()).isEqualTo(1);
        assertThat(c.featureProbability(1, 5)).isEqualTo(0.01f);
        assertThat(c.importance(0, 4)).isEqualTo(0.5f);
        assertThat(pairs.restarts()).isEqualTo(3);
        TrainingOptions o = pairs.options();
        assertThat(o.steps()).isEqualTo(500);
        assertThat(o.batchSize()).isEqualTo(256);
        assertThat(o.learningRate()).isEqualTo(0.01);
        assertThat(o.seed()).isEqualTo(7);
        assertThat(o.schedule().factor(0, 500)).isEqualTo(1.0 / 50);

        SuperpositionExperiment abs = experiments.get(1);
        assertThat(abs.config().kind()).isEqualTo(ToyModelKind.NEURON_COMPUTATION);
        assertThat(abs.config().importance(0, 3)).isEqualTo(1f);
        assertThat(abs.restarts()).isEqualTo(1);
        TrainingOptions defaults = TrainingOptions.defaults();
        assertThat(abs.options().steps()).isEqualTo(defaults.steps()).isEqualTo(10_000);
        assertThat(abs.options().batchSize()).isEqualTo(defaults.batchSize()).isEqualTo(1024);
        assertThat(abs.options().learningRate()).isEqualTo(defaults.learningRate());
        assertThat(abs.options().schedule().factor(0, 100)).isEqualTo(1.0 / 5);
        assertThat(abs.options().seed()).isZero();
    }

    @Test
    void standardSettingsCoverTheIssue() {
        List<SuperpositionExperiment> standard = SuperpositionExperiment.standard();
        assertThat(standard).extracting(SuperpositionExperiment::name).containsExactly(
                "five-features", "correlated", "anticorrelated", "hidden-relu",
                "neuron-computation", "feature-geometry");
        ToyModelConfig five = standard.get(0).config();
        assertThat(five.nFeatures()).isEqualTo(5);
        assertThat(five.dHidden()).isEqualTo(2);
        assertThat(five.importance(0, 4)).isEqualTo((float) Math.pow(0.9, 4));
        assertThat(five.featureProbability(0, 0)).isEqualTo(1f);
        assertThat(five.featureProbability(five.nInstances() - 1, 0)).isEqualTo(0.01f);
        ToyModelConfig abs = standard.get(4).config();
        assertThat(abs.kind()).isEqualTo(ToyModelKind.NEURON_COMPUTATION);
        assertThat(java.util.Arrays.stream(abs.featureProbability()).map(row -> row[0]))
                .contains(0.5f);
    }

    @Test
    void runTrainsAndAnalysesTheKeptInstances() {
        SuperpositionExperiment e = parse("""
                {"experiments": [{"name": "tiny", "model": "neuron-computation",
                  "n_features": 3, "d_hidden": 4, "feature_probability": [0.5, 0.2],
                  "restarts": 2, "steps": 20, "batch_size": 32}]}""").get(0);
        ExperimentResult r = e.run();
        assertThat(r.experiment()).isSameAs(e);
        assertThat(r.loss()).hasSize(2);
        assertThat(r.chosenRestart()).hasSize(2);
        for (int restart : r.chosenRestart()) {
            assertThat(restart).isBetween(0, 1);
        }
        assertThat(r.geometry().nInstances()).isEqualTo(2);
        assertThat(r.geometry().dHidden()).isEqualTo(4);
        assertThat(r.geometry().nFeatures()).isEqualTo(3);
        assertThat(r.elapsed()).isPositive();
        assertThat(r.antipodalPairs()).allSatisfy(p -> assertThat(p.cosine()).isLessThan(-0.9));
    }

    @Test
    void errorsNameTheSourceExperimentAndKey() {
        assertThatThrownBy(() -> parse("{"))
                .hasMessageStartingWith("test.json: not valid JSON");
        assertThatThrownBy(() -> parse("[]"))
                .hasMessage("test.json: expected an object with an \"experiments\" array");
        assertThatThrownBy(() -> parse("{\"experiments\": []}"))
                .hasMessage("test.json: \"experiments\" is empty");
        assertThatThrownBy(() -> parse("{\"experiments\": [3]}"))
                .hasMessage("test.json: experiment 0 is not a JSON object");
        assertThatThrownBy(() -> parse(FULL.replace("\"seed\"", "\"sead\"")))
                .hasMessageContaining("test.json: experiment 0: unknown key 'sead'")
                .hasMessageContaining("known keys: [batch_size, d_hidden");
        assertThatThrownBy(() -> parse(FULL.replace("\"name\": \"abs\", ", "")))
                .hasMessage("test.json: experiment 1: missing required key 'name'");
        assertThatThrownBy(() -> parse(FULL.replace("\"n_features\": 4, ", "")))
                .hasMessage("test.json: experiment 1 ('abs'): missing required key 'n_features'");
        assertThatThrownBy(() -> parse(FULL.replace("\"d_hidden\": 3", "\"d_hidden\": 2.5")))
                .hasMessageContaining("'abs'): 'd_hidden' must be an integer, got 2.5");
        assertThatThrownBy(() -> parse(FULL.replace("\"lr\": 0.01", "\"lr\": \"fast\"")))
                .hasMessageContaining("'pairs'): 'lr' must be a number, got \"fast\"");
        assertThatThrownBy(() -> parse(FULL.replace("[0.5]", "[0.5, \"x\"]")))
                .hasMessageContaining("'feature_probability[1]' must be a number");
        assertThatThrownBy(() -> parse(FULL.replace("[0.5]", "[]")))
                .hasMessageContaining("'feature_probability' must be a non-empty array");
        assertThatThrownBy(() -> parse(FULL.replace("neuron-computation", "neuron")))
                .hasMessageContaining("'abs'): unknown toy model 'neuron'; valid models:"
                        + " relu-output, hidden-relu, neuron-computation");
        assertThatThrownBy(() -> parse(FULL.replace("\"n_features\": 4,",
                "\"n_features\": 4, \"importance\": [1], \"importance_decay\": 0.9,")))
                .hasMessageContaining("either 'importance' or 'importance_decay'");
        assertThatThrownBy(() -> parse(FULL.replace("\"abs\"", "\"pairs\"")))
                .hasMessage("test.json: experiment 1: duplicate name 'pairs'");
        assertThatThrownBy(() -> parse(FULL.replace("\"abs\"", "\"a/b\"")))
                .hasMessageContaining("experiment name 'a/b'");
        assertThatThrownBy(() -> parse(FULL.replace("[0.05, 0.01]", "[0.05, 1.5]")))
                .hasMessageContaining("'pairs'): featureProbability[1][0] = 1.5 is not in [0, 1]");
        assertThatThrownBy(() -> parse(FULL.replace("\"restarts\": 3", "\"restarts\": 0")))
                .hasMessageContaining("'pairs')")
                .hasMessageContaining("restarts must be at least 1, got 0");
        assertThatThrownBy(() -> parse(FULL.replace("\"steps\": 500", "\"steps\": 0")))
                .hasMessageContaining("'pairs'): steps must be at least 1, got 0");
        assertThatThrownBy(() -> parse(FULL.replace("\"warmup_fraction\": 0.1",
                "\"warmup_fraction\": 1")))
                .hasMessageContaining("'pairs'): warm-up fraction must be in [0, 1)");
    }
}
