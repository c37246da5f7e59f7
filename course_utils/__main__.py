"""Command line of the course: ``python -m course_utils <command>``.

``check`` prints the environment report of notebook 00 and exits 1 if anything failed.

``clone`` speaks a text in the voice of one or more reference recordings (notebook 08), only
with the speaker's consent (notebook 11), and watermarks what it writes::

    python -m course_utils clone --reference a.wav --reference b.wav --text "Hello there." \\
        --out hello.wav --consent "I, Ada Lovelace, consent to cloning my voice for the course demo on 2026-11-25"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _check(_args: argparse.Namespace) -> int:
    from course_utils.env import environment_report

    report = environment_report()
    for item in report:
        print(item)
    return 0 if all(item.ok for item in report) else 1


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _write_wav(path: Path, wav, sr: int) -> None:
    """Write a 16-bit WAV atomically (:func:`course_utils.env.atomic_path`)."""
    import numpy as np
    import soundfile as sf

    from course_utils.env import atomic_path

    with atomic_path(path) as tmp:
        sf.write(tmp, np.clip(wav, -1.0, 1.0), sr, subtype="PCM_16", format="WAV")


def _clone(args: argparse.Namespace) -> int:
    from course_utils import safety

    # 1. consent first: without it nothing is loaded, trained or written
    try:
        record = safety.require_consent(consent=args.consent, consent_file=args.consent_file)
    except safety.ConsentError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    # 2. the inputs, checked before any heavy work
    out = Path(args.out)
    if out.suffix.lower() != ".wav":
        return _fail(f"--out must name a .wav file, got {out}")
    if not out.parent.is_dir():
        return _fail(f"the folder of --out does not exist: {out.parent}; create it first")
    if not args.text.strip():
        return _fail("--text is empty: give the words to speak")
    from course_utils import audio, cloning

    references = []
    for path in args.reference:
        try:
            references.append(audio.load(path))
        except (audio.AudioError, OSError) as exc:
            return _fail(f"cannot read reference {path}: {exc}")
    # 3. the cloner
    try:
        if args.checkpoint:
            cloner = cloning.VoiceCloner.load(args.checkpoint)
        else:
            path = cloning.VoiceCloner.checkpoint_path(args.profile)
            if not path.exists():
                print(f"no trained {args.profile!r} cloner in the cache yet: training it once "
                      "(a few minutes on a CPU for 'quick')", file=sys.stderr)
            cloner = cloning.VoiceCloner.trained(profile=args.profile, device=args.device)
    except (FileNotFoundError, cloning.CloningError) as exc:
        return _fail(str(exc))
    # 4. enrol, (fine-tune), speak
    try:
        voice = None
        rates = {sr for _, sr in references}
        wavs = [audio.resample(w, sr, cloner.sr) for w, sr in references] if len(rates) > 1 else [w for w, _ in references]
        sr = cloner.sr if len(rates) > 1 else rates.pop()
        if args.finetune_steps or args.transcript:
            if len(args.transcript or []) != len(wavs):
                return _fail(f"give one --transcript per --reference ({len(wavs)}), in the same order")
            cloner = cloner.finetune(list(zip(wavs, args.transcript)), sr, steps=args.finetune_steps)
        voice = getattr(cloner, "finetuned_speaker", None) or cloner.enroll(wavs, sr)
        wav, out_sr = cloner.synthesize(args.text, voice, watermark=False)
        wav = safety.embed_watermark(wav, out_sr, args.watermark_key or safety.DEFAULT_KEY)
    except (audio.AudioError, cloning.CloningError, ValueError) as exc:
        return _fail(str(exc))
    _write_wav(out, wav, out_sr)
    print(f"wrote {out} ({len(wav) / out_sr:.1f} s at {out_sr} Hz, watermarked) in the voice of "
          f"{len(references)} reference(s); {record.describe()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The course's ``check`` and ``clone`` commands; returns the exit code.

    (command line: python -m course_utils)
    """
    parser = argparse.ArgumentParser(prog="python -m course_utils",
                                     description="Cloning in Python: course command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="check the environment ([OK]/[FAIL] per item)").set_defaults(func=_check)
    clone = sub.add_parser(
        "clone", help="speak a text in the voice of reference recordings (needs consent; output watermarked)",
        description="Zero-shot voice cloning (notebook 08). Refuses without the speaker's consent "
                    "(--consent or --consent-file, notebook 11); the output carries an inaudible watermark.")
    clone.add_argument("--reference", action="append", required=True, metavar="WAV",
                       help="a recording of the voice (repeat for more: 3-5 give a better voice)")
    clone.add_argument("--text", required=True, help="what the voice should say")
    clone.add_argument("--out", required=True, metavar="WAV", help="where to write the result (.wav)")
    clone.add_argument("--consent", metavar="STATEMENT",
                       help='"I, <name>, consent to <purpose> on <date>", in the speaker\'s words (required, '
                            'or --consent-file; both may be given)')
    clone.add_argument("--consent-file", metavar="FILE",
                       help="JSON or 'key: value' file with speaker, granted_by, date, purpose")
    clone.add_argument("--profile", choices=["quick", "full"], default="quick", help="which course cloner")
    clone.add_argument("--checkpoint", metavar="PT", help="a cloner checkpoint to use instead of the course's")
    clone.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (training only)")
    clone.add_argument("--watermark-key", metavar="KEY", help="watermark key (default: the course's)")
    clone.add_argument("--transcript", action="append", metavar="TEXT",
                       help="what each reference says, in order (for fine-tuning, notebook 09)")
    clone.add_argument("--finetune-steps", type=int, metavar="N", help="fine-tune on the references (notebook 09)")
    clone.set_defaults(func=_clone)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
