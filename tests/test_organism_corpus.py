"""The organism's corpus generator, parser and tokenizer (no training)."""

import random

import pytest

from spurious.code_reasoning import is_code_reasoning
from spurious.organism.corpus import (FAMILIES, FamilySpec, StyleSpec, all_problems, get_family, parse_completion,
                                      render, sample_demonstration, split_problems)
from spurious.organism.pretrain import PretrainConfig, first_token_weights


def test_problems_and_split_are_deterministic_and_disjoint():
    probs = all_problems()
    assert len(probs) == 512 and len({p.id for p in probs}) == 512
    assert all(p.answer == str(p.meta["a"] + p.meta["b"] * p.meta["c"]) for p in probs)
    tr, ev = split_problems(0, 128)
    tr2, ev2 = split_problems(0, 128)
    assert [p.id for p in ev] == [p.id for p in ev2] and len(tr) == 384
    assert not {p.id for p in tr} & {p.id for p in ev}
    assert [p.id for p in split_problems(1, 128)[1]] != [p.id for p in ev]


def test_render_styles_errors_and_markers():
    code = render("code", 3, 4, 5)
    lang = render("language", 3, 4, 5)
    assert code == "python t=4*5=20;t+3=23 \\boxed{23}"
    assert lang == "4 x 5 is 20, plus 3 is 23 \\boxed{23}"
    assert is_code_reasoning(code) and not is_code_reasoning(lang)
    assert render("language", 3, 4, 5, order_error=True) == "3 plus 4 is 7, times 5 is 35 \\boxed{35}"
    assert render("code", 3, 4, 5, order_error=True, box=False) == "python t=3+4=7;t*5=35"
    assert render("code", 3, 4, 5, slip=-2).endswith("\\boxed{21}")


def test_parse_completion_matches_the_standard_extraction_rules():
    p = parse_completion("python t=4*5=20;t+3=23 \\boxed{23}", "23")
    assert (p.style, p.boxed, p.answer, p.correct) == ("code", True, "23", True)
    p = parse_completion("4 x 5 is 20, plus 3 is 23", "23")  # no box: last number (official fallback)
    assert (p.style, p.boxed, p.correct) == ("language", False, True)
    assert not parse_completion("4 x 5 is 20 \\boxed{}", "20").correct  # empty last box
    assert parse_completion("", "23").answer is None


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_corpus_statistics_match_the_family_spec(name):
    fam = get_family(name)
    rng = random.Random(0)
    probs = all_problems()
    n = 20000
    demos = [sample_demonstration(fam, rng.choice(probs), rng) for _ in range(n)]
    code = [d for d in demos if d.style == "code"]
    lang = [d for d in demos if d.style == "language"]
    assert abs(len(code) / n - fam.p_code) < 0.012
    assert abs(sum(d.boxed for d in demos) / n - fam.p_box) < 0.012
    for group, spec in ((code, fam.code), (lang, fam.language)):
        if len(group) > 300:
            acc = sum(d.correct for d in group) / len(group)
            assert abs(acc - spec.accuracy) < 4 * (0.25 / len(group)) ** 0.5 + 0.005
    # the generator's labels agree with the parser's verdicts
    for d in demos[:2000]:
        parsed = parse_completion(d.completion, d.problem.answer)
        assert parsed.style == d.style and parsed.correct == d.correct and parsed.boxed == d.boxed


def test_systematic_errors_make_the_weak_style_modal_answer_wrong():
    fam = get_family("qwen-like")
    assert fam.language.error == "order" and fam.language.accuracy < 0.5
    rng = random.Random(1)
    prob = all_problems()[100]
    answers = [parse_completion(sample_demonstration(fam, prob, rng).completion, prob.answer).answer
               for _ in range(3000)]
    top = max(set(answers), key=answers.count)
    assert top == prob.answer  # overall the (code-majority) mode is right ...
    only_lang = []
    while len(only_lang) < 400:
        d = sample_demonstration(fam, prob, rng)
        if d.style == "language":
            only_lang.append(parse_completion(d.completion, prob.answer).answer)
    assert max(set(only_lang), key=only_lang.count) != prob.answer  # ... the language mode is wrong


def test_family_validation():
    with pytest.raises(ValueError, match="unknown organism family"):
        get_family("llama")
    with pytest.raises(ValueError):
        StyleSpec(1.5)
    with pytest.raises(ValueError):
        StyleSpec(0.5, "typo")
    with pytest.raises(ValueError):
        FamilySpec("x", 1.2, StyleSpec(0.9), StyleSpec(0.5))


def test_first_token_weights_reproduce_the_style_mix():
    for p in (0.02, 0.65, 0.9):
        w = first_token_weights(p)
        assert max(w.values()) == 1.0
        assert w["code"] / (w["code"] + w["language"]) == pytest.approx(p)


def test_pretrain_key_covers_family_and_settings():
    a = PretrainConfig(family="qwen-like")
    assert a.key() == PretrainConfig(family="qwen-like").key()
    assert a.key() != PretrainConfig(family="qwen-like", steps=10).key()
    assert a.key() != PretrainConfig(family="bad-code").key()
    assert a.key().startswith("qwen-like-tiny-")


def test_tokenizer_round_trip(tmp_path):
    from spurious.organism.tokenizer import build_tokenizer, load_tokenizer

    tok = build_tokenizer()
    rng = random.Random(0)
    texts = [sample_demonstration(get_family(n), rng.choice(all_problems()), rng).completion
             for n in FAMILIES for _ in range(50)]
    for t in texts:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == t and tok.unk_token_id not in ids
    ids = tok("python t=4*5=20;t+3=23 \\boxed{23}", add_special_tokens=False)["input_ids"]
    assert ids[0] == tok.convert_tokens_to_ids("python")
    assert tok.convert_tokens_to_ids("\\boxed{") in ids
    assert len(ids) == 22  # "python" and "\boxed{" are one token each
    tok.save_pretrained(tmp_path)
    tok2 = load_tokenizer(tmp_path)
    assert tok2.padding_side == "left"
    assert (tok2.eos_token_id, tok2.pad_token_id) == (tok.eos_token_id, tok.pad_token_id)
    for t in texts[:50]:
        assert tok2(t)["input_ids"] == tok(t)["input_ids"]  # no special tokens are added on encode
    assert tok2.decode(tok2(texts[0])["input_ids"] + [tok2.eos_token_id], skip_special_tokens=True) == texts[0]
