package org.lens4j.analysis.ioi;

import java.util.List;

/**
 * The word lists of the IOI dataset of Wang et al. 2022 ("Interpretability in the Wild: a Circuit for Indirect
 * Object Identification in GPT-2 small", appendix; the lists of their {@code ioi_dataset.py}): the 15 templates
 * in BABA form, the 99 first names, the places and the objects.
 *
 * <p>Templates hold the slots {@code [A]} (the indirect object, IO), {@code [B]} (the subject, S, which appears
 * twice), {@code [PLACE]} and {@code [OBJECT]}. They are written in BABA order as in the paper ("Then, [B] and [A]
 * ..."); the ABBA order swaps the first {@code [B]} and the first {@code [A]}. Each ends with the answer
 * {@code " [A]"}, which {@link IoiDataset} drops: a prompt ends at the token before the answer (END).
 */
public final class IoiTemplates {

    private IoiTemplates() {}

    /** The paper's templates, BABA order, each ending with the answer slot. */
    public static final List<String> BABA = List.of(
            "Then, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
            "Then, [B] and [A] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to [A]",
            "Then, [B] and [A] were working at the [PLACE]. [B] decided to give a [OBJECT] to [A]",
            "Then, [B] and [A] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to [A]",
            "Then, [B] and [A] had a long argument, and afterwards [B] said to [A]",
            "After [B] and [A] went to the [PLACE], [B] gave a [OBJECT] to [A]",
            "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give it to [A]",
            "When [B] and [A] got a [OBJECT] at the [PLACE], [B] decided to give the [OBJECT] to [A]",
            "While [B] and [A] were working at the [PLACE], [B] gave a [OBJECT] to [A]",
            "While [B] and [A] were commuting to the [PLACE], [B] gave a [OBJECT] to [A]",
            "After the lunch, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
            "Afterwards, [B] and [A] went to the [PLACE]. [B] gave a [OBJECT] to [A]",
            "Then, [B] and [A] had a long argument. Afterwards [B] said to [A]",
            "The [PLACE] [B] and [A] went to had a [OBJECT]. [B] gave it to [A]",
            "Friends [B] and [A] found a [OBJECT] at the [PLACE]. [B] gave it to [A]");

    /** The paper's first names (99; {@link IoiDataset} keeps those that are one token with a leading space). */
    public static final List<String> NAMES = List.of(
            "Michael", "Christopher", "Jessica", "Matthew", "Ashley", "Jennifer", "Joshua", "Amanda", "Daniel",
            "David", "James", "Robert", "John", "Joseph", "Andrew", "Ryan", "Brandon", "Jason", "Justin", "Sarah",
            "William", "Jonathan", "Stephanie", "Brian", "Nicole", "Nicholas", "Anthony", "Heather", "Eric",
            "Elizabeth", "Adam", "Megan", "Melissa", "Kevin", "Steven", "Thomas", "Timothy", "Christina", "Kyle",
            "Rachel", "Laura", "Lauren", "Amber", "Brittany", "Danielle", "Richard", "Kimberly", "Jeffrey", "Amy",
            "Crystal", "Michelle", "Tiffany", "Jeremy", "Benjamin", "Mark", "Emily", "Aaron", "Charles", "Rebecca",
            "Jacob", "Stephen", "Patrick", "Sean", "Erin", "Jamie", "Kelly", "Samantha", "Nathan", "Sara", "Dustin",
            "Paul", "Angela", "Tyler", "Scott", "Katherine", "Andrea", "Gregory", "Erica", "Mary", "Travis", "Lisa",
            "Kenneth", "Bryan", "Lindsey", "Kristen", "Jose", "Alexander", "Jesse", "Katie", "Lindsay", "Shannon",
            "Vanessa", "Courtney", "Christine", "Alicia", "Cody", "Allison", "Bradley", "Samuel");

    /** The paper's places. */
    public static final List<String> PLACES = List.of(
            "store", "garden", "restaurant", "school", "hospital", "office", "house", "station");

    /** The paper's objects. */
    public static final List<String> OBJECTS = List.of(
            "ring", "kiss", "bone", "basketball", "computer", "necklace", "drink", "snack");
}
