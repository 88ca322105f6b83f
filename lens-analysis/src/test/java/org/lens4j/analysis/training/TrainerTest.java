package org.lens4j.analysis.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lens4j.core.HookedTransformer;
import org.lens4j.core.HookedTransformerConfig;

/** Short training runs on tiny models: the loss goes down, runs repeat bit for bit, bad input fails fast. */
class TrainerTest {

    private static final InductionTask TASK = new InductionTask(20, 16, 3, 7);

    private static HookedTransformerConfig tiny(long seed) {
        return HookedTransformerConfig.builder().nLayers(1).dModel(32).nCtx(16).dHead(8).nHeads(4).dVocab(20)
                .attnOnly(true).actFn("relu").seed(seed).build();
    }

    private static TrainerOptions.Builder shortRun() {
        return TrainerOptions.builder().steps(30).batchSize(16).lr(1e-2).warmupSteps(5).seed(7);
    }

    @Test
    void trainingLowersTheLossOnHeldOutBatches() {
        try (NDManager m = NDManager.newBaseManager(); HookedTransformer model = HookedTransformer.init(tiny(1))) {
            NDArray heldOut = TASK.sample(m, 64, new Random(99)).tokens();
            double before = model.loss(heldOut).getFloat();
            TrainingLog log = Trainer.train(model, TASK, shortRun().build());
            double after = model.loss(heldOut).getFloat();
            assertThat(log.steps()).isEqualTo(30);
            // uniform guessing over 20 tokens is ln 20 = 3.00; one layer learns the unigram/BOS statistics
            assertThat(after).as("held-out loss after 30 steps (before: %s)", before).isLessThan(before - 0.1);
            assertThat(log.meanOfLast(5)).isLessThan(log.meanOfFirst(5));
            for (NDArray p : model.stateDict().values()) {
                assertThat(p.hasGradient()).as("parameters stop requiring gradients after training").isFalse();
            }
        }
    }

    @Test
    void twoRunsWithTheSameSeedAreBitIdentical() {
        TrainerOptions options = shortRun().steps(15).gradClip(1.0).build();
        try (HookedTransformer a = HookedTransformer.init(tiny(3)); HookedTransformer b = HookedTransformer.init(tiny(3))) {
            double[] lossA = Trainer.train(a, TASK, options).losses();
            double[] lossB = Trainer.train(b, TASK, options).losses();
            assertThat(lossB).containsExactly(lossA);
            for (String name : a.stateDict().keySet()) {
                assertThat(b.parameter(name)).as(name).isEqualTo(a.parameter(name));
            }
            try (HookedTransformer c = HookedTransformer.init(tiny(3))) {
                double[] otherData = Trainer.train(c, TASK, shortRun().steps(15).gradClip(1.0).seed(8).build()).losses();
                assertThat(otherData).isNotEqualTo(lossA);
            }
        }
    }

    @Test
    void stepsLeaveNoArraysBehind() {
        try (HookedTransformer model = HookedTransformer.init(tiny(2))) {
            int params = model.manager().getManagedArrays().size();
            Trainer.train(model, TASK, shortRun().steps(3).build());
            int afterShortRun = model.manager().getManagedArrays().size();
            Trainer.train(model, TASK, shortRun().steps(20).gradClip(1.0).build());
            // the gradient buffers live in PyTorch; no Java-side array survives a step
            assertThat(afterShortRun).isEqualTo(params);
            assertThat(model.manager().getManagedArrays()).hasSize(params);
        }
    }

    @Test
    void maskedLossIsTheCrossEntropyOfTheAnswerOnly() {
        ToyIoiTask ioi = new ToyIoiTask(6, 4);
        HookedTransformerConfig cfg = HookedTransformerConfig.builder().nLayers(1).dModel(32).nCtx(ToyIoiTask.LENGTH)
                .dHead(8).nHeads(4).dVocab(ioi.vocabSize()).attnOnly(true).actFn("relu").seed(5L).build();
        try (NDManager m = NDManager.newBaseManager(); HookedTransformer model = HookedTransformer.init(cfg)) {
            Batch batch = ioi.sample(m, 8, new Random(1));
            double loss = Trainer.batchLoss(model, batch).getFloat();
            float[] logits = model.forward(batch.tokens()).toFloatArray(); // [8, 13, vocab]
            long[] tokens = batch.tokens().toLongArray();
            int v = ioi.vocabSize();
            double expected = 0;
            for (int b = 0; b < 8; b++) {
                int row = (b * ToyIoiTask.LENGTH + ToyIoiTask.END_POSITION) * v;
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < v; t++) {
                    max = Math.max(max, logits[row + t]);
                }
                double sumExp = 0;
                for (int t = 0; t < v; t++) {
                    sumExp += Math.exp(logits[row + t] - max);
                }
                int answer = (int) tokens[b * ToyIoiTask.LENGTH + ToyIoiTask.ANSWER_POSITION];
                expected += -(logits[row + answer] - max - Math.log(sumExp));
            }
            assertThat(loss).isCloseTo(expected / 8, org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    @Test
    void gradientClippingScalesToTheMaximumNorm() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> grads = new LinkedHashMap<>();
            grads.put("a", m.create(new float[] {3, 0}));
            grads.put("b", m.create(new float[] {4}));
            assertThat(Trainer.clipGradients(grads, 10)).isEqualTo(5.0);
            assertThat(grads.get("a").toFloatArray()).containsExactly(3, 0);
            assertThat(Trainer.clipGradients(grads, 1)).isEqualTo(5.0);
            assertThat(grads.get("a").toFloatArray()).containsExactly(0.6f, 0f);
            assertThat(grads.get("b").toFloatArray()).containsExactly(0.8f);
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() {
        try (HookedTransformer model = HookedTransformer.init(tiny(1))) {
            TrainerOptions options = shortRun().build();
            assertThatThrownBy(() -> Trainer.train(model, new InductionTask(21, 16, 3, 7), options))
                    .hasMessageContaining("21 token ids").hasMessageContaining("d_vocab is 20");
            assertThatThrownBy(() -> Trainer.train(model, new InductionTask(20, 17, 3, 7), options))
                    .hasMessageContaining("17 tokens").hasMessageContaining("n_ctx is 16");
            // a hook that poisons the embeddings makes the loss NaN at the first step
            model.addHook("hook_embed", (act, hook) -> act.mul(Float.NaN));
            assertThatThrownBy(() -> Trainer.train(model, TASK, options))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("NaN at step 0");
            model.resetHooks();
        }
        assertThatThrownBy(() -> TrainerOptions.builder().steps(0).build()).hasMessageContaining("steps = 0");
        assertThatThrownBy(() -> TrainerOptions.builder().lr(-1).build()).hasMessageContaining("lr = -1");
        assertThatThrownBy(() -> TrainerOptions.builder().betas(1, 0.9).build()).hasMessageContaining("beta1 = 1");
        assertThatThrownBy(() -> TrainerOptions.builder().gradClip(-1).build()).hasMessageContaining("gradClip");
        assertThatThrownBy(() -> TrainerOptions.builder().batchSize(0).build()).hasMessageContaining("batchSize");
    }

    @Test
    void learningRateWarmsUpLinearly() {
        TrainerOptions o = TrainerOptions.builder().lr(1e-3).warmupSteps(4).build();
        assertThat(o.lrAt(0)).isEqualTo(0.25e-3);
        assertThat(o.lrAt(3)).isEqualTo(1e-3);
        assertThat(o.lrAt(100)).isEqualTo(1e-3);
        assertThat(TrainerOptions.builder().lr(2e-3).build().lrAt(0)).isEqualTo(2e-3);
    }
}
