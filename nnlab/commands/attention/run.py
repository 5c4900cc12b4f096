"""The run of `nnlab attention`: the checks against torch and the entropy table, then the task (retrieve: both
mixers, --seeds times each; vit: one small vision Transformer), and the claims on what they measured."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.commands.attention.claims import beats_claim, matches_torch_check, scaling_claim, vit_claim
from nnlab.commands.attention.config import AttentionConfig, sequence_tokens
from nnlab.commands.attention.forms import lecture_form_checks

if TYPE_CHECKING:
    from nnlab.core.run import Run


def prepare(config: AttentionConfig) -> None:
    if config.task == "vit":
        from nnlab.data.mnist import prepare_mnist

        prepare_mnist(config.data_dir)  # check the data before a run directory exists


def run(config: AttentionConfig, rec: Run) -> dict[str, Any]:
    """The run, at config.threads CPU threads (set by the runner)."""
    from nnlab.commands.attention import checks
    from nnlab.core.seeding import seed_everything

    seed_everything(config.seed)
    diffs = checks.against_torch(config.dim, config.heads, min(sequence_tokens(config), 64), config.seed)
    entropy = checks.entropy_table(config.entropy_dims, config.entropy_tokens, config.dim, config.seed)
    summary: dict[str, Any] = {"task": config.task, "dim": config.dim, "heads": config.heads,
                               "layers": config.layers, "norm": config.norm, "matches_torch": diffs,
                               "entropy": entropy, "entropy_tokens": config.entropy_tokens}
    forms = checks.lecture_forms(config.dim, config.seed)
    summary["lecture_forms"] = forms
    records = [matches_torch_check(diffs, config), scaling_claim(entropy, config.entropy_tokens),
               *lecture_form_checks(forms)]
    if config.task == "retrieve":
        summary |= run_retrieve(config, rec)
        records.append(beats_claim(summary["results"], config))
    else:
        from nnlab.commands.attention import vit

        models = [vit.train(config, rec, index) for index in range(config.seeds)]
        result = models[0]  # the first model's curves and maps are drawn; every model's scores are kept
        result["seeds"] = [{k: m[k] for k in ("test/acc", "test/loss", "val/acc", "train_s", "diverged_at")}
                           for m in models]
        summary |= {"vit": result}
        records.append(vit_claim(result, config))
        if any(m["diverged_at"] is not None for m in models):
            summary["status"] = "diverged"
    summary["claims"] = records
    return summary


def run_retrieve(config: AttentionConfig, rec: Run) -> dict[str, Any]:
    """--seeds models per mixer (attention, mean), the first attention model's maps and the best blind guess."""
    from nnlab.commands.attention import retrieve
    from nnlab.nn.transformer import RetrievalNet

    maps, guess = None, None
    results: dict[str, list[dict[str, Any]]] = {}
    for mixer in ("attention", "mean"):  # each mixer's --seeds models trained at once (retrieve.train)
        results[mixer], model, evalset = retrieve.train(config, mixer, rec)
        if mixer == "attention":  # the maps of the first attention model, drawn by RetrievalNet itself
            first = RetrievalNet(config.n_keys, config.n_values, config.dim, config.heads, config.layers,
                                 config.norm, mixer).to(rec.device)
            maps = retrieve.attention_maps(model.unstack(0, first), evalset, config.examples)
            guess = retrieve.guess_present_value(evalset)
    out: dict[str, Any] = {"results": results, "maps": maps, "guess_present_value_acc": guess,
                           "pairs": config.pairs, "queries": config.queries}
    if any(r["diverged_at"] is not None for rs in results.values() for r in rs):
        out["status"] = "diverged"
    return out
