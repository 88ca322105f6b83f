package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {

    @Test
    void constantLinearAndCosine() {
        assertThat(LearningRateSchedule.constant().factor(7, 10)).isEqualTo(1.0);
        assertThat(LearningRateSchedule.linearDecay().factor(0, 10)).isEqualTo(1.0);
        assertThat(LearningRateSchedule.linearDecay().factor(4, 10)).isCloseTo(0.6, within(1e-12));
        assertThat(LearningRateSchedule.cosineDecay().factor(0, 11)).isEqualTo(1.0);
        assertThat(LearningRateSchedule.cosineDecay().factor(5, 11))
                .isCloseTo(Math.cos(Math.PI / 4), within(1e-12));
        assertThat(LearningRateSchedule.cosineDecay().factor(10, 11)).isCloseTo(0, within(1e-12));
    }

    @Test
    void warmupThenHalfCosine() {
        LearningRateSchedule s = LearningRateSchedule.warmupCosine(0.1);
        // 100 steps: warm-up over steps 0..9 reaching 1 at step 9, then cosine over 90 steps.
        assertThat(s.factor(0, 100)).isCloseTo(0.1, within(1e-12));
        assertThat(s.factor(4, 100)).isCloseTo(0.5, within(1e-12));
        assertThat(s.factor(9, 100)).isCloseTo(1.0, within(1e-12));
        assertThat(s.factor(10, 100)).isCloseTo(1.0, within(1e-12));
        assertThat(s.factor(55, 100)).isCloseTo(0.5, within(1e-12));
        assertThat(s.factor(99, 100))
                .isCloseTo(0.5 * (1 + Math.cos(Math.PI * 89 / 90)), within(1e-12));
        assertThat(LearningRateSchedule.warmupCosine(0).factor(0, 10)).isEqualTo(1.0);
    }

    @Test
    void rejectsWarmupFractionOutsideZeroOne() {
        assertThatThrownBy(() -> LearningRateSchedule.warmupCosine(1.0))
                .hasMessageContaining("warm-up fraction");
        assertThatThrownBy(() -> LearningRateSchedule.warmupCosine(-0.1))
                .hasMessageContaining("-0.1");
    }
}
