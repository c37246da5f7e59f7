"""Command line of the course: ``python -m course_utils <command>``.

``train-checkpoint`` trains (resumably) and measures the course checkpoint (notebook 08).

``check`` prints the environment report of notebook 00 and exits 1 if anything failed.

``clone`` speaks a text in the voice of one or more reference recordings (notebook 08), only
with the speaker's consent (notebook 11), and watermarks what it writes::

    python -m course_utils clone --reference a.wav --reference b.wav --text "Hello there." \\
        --out hello.wav --consent "I, Ada Lovelace, consent to cloning my voice for the course demo on 2026-11-25"
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def _check(_args: argparse.Namespace) -> int:
    from course_utils.env import environment_report

    report = environment_report()
    for item in report:
        print(item)
    return 0 if all(item.ok for item in report) else 1


#: Free space the command line wants where it writes, before any work.
MIN_FREE_MB = 50


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
    if out.is_dir():
        return _fail(f"--out {out} is a folder; name a .wav file in it, e.g. {out / 'clone.wav'}")
    if not out.parent.is_dir():
        return _fail(f"the folder of --out does not exist: {out.parent}; create it first")
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        return _fail(f"cannot write {out}: no permission in {out.parent}; choose another --out")
    free_mb = shutil.disk_usage(out.parent).free / 2 ** 20
    if free_mb < MIN_FREE_MB:
        return _fail(f"only {free_mb:.0f} MB free where --out goes ({out.parent}); a clone needs a few MB and "
                     f"a first training more: free at least {MIN_FREE_MB} MB")
    if not args.text.strip():
        return _fail("--text is empty: give the words to speak")
    from course_utils import audio, cloning, env

    try:
        device = env.pick_device(args.device)
    except (RuntimeError, ValueError) as exc:
        return _fail(f"--device {args.device}: {exc}")
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
        elif args.voices == "course":
            cloner = cloning.VoiceCloner.shipped()
        else:
            real = args.voices == "real"
            config = (cloning.ClonerConfig.with_real_speech if real else cloning.ClonerConfig.for_profile)(args.profile)
            path = config.checkpoint_path()
            if not path.exists() or args.retrain:
                if args.profile == "full" and device == "cpu" and not args.retrain:
                    return _fail("the 'full' cloner is not trained yet, and training it on a CPU takes many "
                                 "hours: use a GPU (--device cuda), or --profile quick, or pass --retrain to "
                                 "train it here anyway")
                print(f"{'retraining' if path.exists() else 'no trained'} {args.profile!r} cloner"
                      f"{'' if path.exists() else ' in the cache yet'}: training it once (minutes on a CPU for "
                      f"'quick'; notebook{'s 08 and 09 show' if real else ' 08 shows'} the time)", file=sys.stderr)
            cloner = cloning.VoiceCloner.trained(profile=args.profile, device=device, retrain=args.retrain,
                                                 real_speech=real)
    except (FileNotFoundError, cloning.CloningError) as exc:
        return _fail(str(exc))
    if args.nearest_frames is not None:
        if args.nearest_frames < 0:
            return _fail(f"--nearest-frames must be 0 (off) or more, got {args.nearest_frames}")
        cloner.model.config.nearest_k = args.nearest_frames
    # 4. enrol, (fine-tune), speak
    try:
        voice = None
        rates = {sr for _, sr in references}
        wavs = [audio.resample(w, sr, cloner.sr) for w, sr in references] if len(rates) > 1 else [w for w, _ in references]
        sr = cloner.sr if len(rates) > 1 else rates.pop()
        if args.finetune_steps or args.transcript:
            if args.transcript and len(args.transcript) != len(wavs):
                return _fail(f"give one --transcript per --reference ({len(wavs)}), in the same order, or none "
                             "(then each reference is transcribed for you)")
            transcripts = args.transcript or [None] * len(wavs)
            cloner = cloner.finetune(list(zip(wavs, transcripts)), sr, steps=args.finetune_steps,
                                     progress=True, check_transcripts=False if args.trust_transcripts else None)
        voice = getattr(cloner, "finetuned_speaker", None) or cloner.enroll(wavs, sr)
        wav, out_sr = cloner.synthesize(args.text, voice, key=args.watermark_key or safety.DEFAULT_KEY)
    except (audio.AudioError, cloning.CloningError, ValueError) as exc:
        return _fail(str(exc))
    try:
        _write_wav(out, wav, out_sr)
    except OSError as exc:              # a full disk or a folder removed meanwhile: no traceback, no half file
        return _fail(f"cannot write {out}: {exc.strerror or exc}; the clone was not saved")
    print(f"wrote {out} ({len(wav) / out_sr:.1f} s at {out_sr} Hz, watermarked) in the voice of "
          f"{len(references)} reference(s); {record.describe()}")
    return 0


def _train_checkpoint(args: argparse.Namespace) -> int:
    from course_utils import cloning, env

    try:
        device = env.pick_device(args.device)
        record = cloning.train_checkpoint(args.out, seed=args.seed, device=device)
    except (RuntimeError, ValueError) as exc:
        return _fail(str(exc))
    print(f"wrote {args.out} ({record['bytes'] / 2 ** 20:.1f} MB, SHA-256 {record['sha256'][:16]}...) and its record; "
          f"{record['training']['steps']} steps in {record['training']['seconds'] / 60:.0f} min")
    for row in record["measured"]:
        print(f"  {row['voices']}: word error rate {row['wer']:.3f}, cloning score {row['score']:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The course's ``check`` and ``clone`` commands; returns the exit code.

    (command line: python -m course_utils)
    """
    from course_utils.env import handle_sigterm

    handle_sigterm()                     # a kill removes temporary files instead of leaving them
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
    clone.add_argument("--profile", choices=["quick", "full"], default="quick", help="size of the --voices real or espeak cloner (quick: CPU; full: GPU)")
    clone.add_argument("--voices", choices=["course", "real", "espeak"], default="course",
                       help="which cloner: the course checkpoint (course, the default: it says its words; shipped "
                            "in the repository, notebook 08), the quick one that also learned from real people "
                            "(real: likeness without the words, notebook 09) or the quick espeak-ng one of "
                            "notebook 08 (both trained on first use)")
    clone.add_argument("--nearest-frames", type=int, metavar="K",
                       help="build each frame of the clone from its K nearest reference frames (more like "
                            "the speaker, fewer clear phones; notebook 09); 0: off; default: the cloner's (2 for "
                            "--voices real, 0 otherwise)")
    clone.add_argument("--checkpoint", metavar="PT", help="a cloner checkpoint to use instead of the course's")
    clone.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (training only)")
    clone.add_argument("--watermark-key", metavar="KEY", help="watermark key (default: the course's)")
    clone.add_argument("--transcript", action="append", metavar="TEXT",
                       help="what each reference says, in order (for fine-tuning, notebook 09); without it "
                            "the references are transcribed offline (Whisper tiny.en)")
    clone.add_argument("--trust-transcripts", action="store_true",
                       help="do not check each --transcript against what the recogniser hears (for accents "
                            "it does not know)")
    clone.add_argument("--finetune-steps", type=int, metavar="N",
                       help="fine-tune on the references (notebook 09); at most finetune.MAX_STEPS")
    clone.add_argument("--retrain", action="store_true",
                       help="train the course cloner again, over a cached checkpoint that is damaged or stale")
    clone.set_defaults(func=_clone)
    from course_utils.cloning.config import SHIPPED_CHECKPOINT

    ship = sub.add_parser(
        "train-checkpoint", help="train the course checkpoint (hours on a CPU; resumable), measure it, write it",
        description="Train the course checkpoint with the course's own code (notebook 08), or go on with a run "
                    "that stopped (its state is in the cache), then write the weights and a record of the "
                    "training and of the measured word error rate and likeness.")
    ship.add_argument("--out", default=str(SHIPPED_CHECKPOINT), metavar="PT", help="where to write the checkpoint")
    ship.add_argument("--seed", type=int, default=0, help="training seed (each has its own run)")
    ship.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    ship.set_defaults(func=_train_checkpoint)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
