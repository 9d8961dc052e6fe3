"""The haunts' voices, synthesised in numpy (no model, no download).

Source-filter synthesis: a glottal pulse train (Rosenberg pulses, differentiated for the
lips' radiation) with pitch-synchronous breath noise, or plain noise for whispered
syllables, goes through four formant resonators whose frequencies glide between vowel
targets. The resonators change every few milliseconds, so the filtering runs block by
block in the frequency domain (each block's spectrum times the resonators' response,
then overlap-add). Syllables open with consonant noise (a plosive's burst or a
fricative's hiss, shaped in frequency); a noise impulse response, decaying and darkened,
adds a room's tail. Each `Voice` has its own pitch range and melody, pace, breath,
vibrato, tremolo, vocal-tract size and tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_S = 0.8
MAX_S = 3.0
PEAK = 10 ** (-1 / 20)
"""Utterances are normalised to peak at -1 dBFS."""
PITCH_FLOOR_HZ = 72.0
PITCH_CEILING_HZ = 395.0

VOWELS = np.array(
    [  # F1, F2, F3, F4 in Hz for an adult vocal tract (Peterson & Barney, rounded)
        [730, 1090, 2440, 3400],  # a
        [530, 1840, 2480, 3500],  # e
        [270, 2290, 3010, 3700],  # i
        [570, 840, 2410, 3300],  # o
        [300, 870, 2240, 3300],  # u
        [660, 1720, 2410, 3400],  # æ
        [640, 1190, 2390, 3400],  # ʌ
    ],
    dtype=np.float64,
)
BANDWIDTHS = np.array([80.0, 100.0, 140.0, 220.0])


@dataclass(frozen=True, slots=True)
class Consonant:
    """A syllable's opening noise: a short `plosive` burst or a longer `fricative` hiss,
    centred on `centre_hz` with a spread of `octaves`."""

    kind: str
    centre_hz: float
    octaves: float
    duration_s: float
    gain: float


CONSONANTS = {
    "p": Consonant("plosive", 900.0, 2.0, 0.018, 0.45),
    "t": Consonant("plosive", 4200.0, 1.2, 0.020, 0.5),
    "k": Consonant("plosive", 2200.0, 0.8, 0.028, 0.5),
    "s": Consonant("fricative", 6500.0, 0.7, 0.100, 0.28),
    "sh": Consonant("fricative", 3000.0, 0.8, 0.110, 0.3),
    "f": Consonant("fricative", 4500.0, 2.0, 0.080, 0.15),
    "h": Consonant("fricative", 1500.0, 1.6, 0.070, 0.18),
}


@dataclass(frozen=True, slots=True)
class Voice:
    """How one voice model speaks."""

    pitch_hz: tuple[float, float]
    """The range an utterance's base pitch is drawn from."""
    melody_semitones: float
    """How far a syllable's pitch strays from the base (standard deviation)."""
    glide_semitones: float
    """How each syllable's pitch moves from its start to its end (+ rises, - falls)."""
    syllables_per_s: float
    breathiness: float
    """The share of breath noise in voiced sound, 0 to 1."""
    whisper_share: float
    """The chance that a syllable is whispered (noise through the formants only)."""
    consonants: tuple[str, ...]
    consonant_share: float
    vibrato: tuple[float, float]
    """Rate in Hz and depth in semitones."""
    tremolo: tuple[float, float]
    """Rate in Hz and depth as a fraction of the amplitude."""
    roughness: float
    """Fast amplitude flutter (a growl), 0 to 1."""
    tract_scale: float
    """Formant frequencies times this: above 1 a smaller tract (a brighter voice)."""
    tail_s: float
    """The room's decay time (to -60 dB)."""
    tail_mix: float


VOICES: dict[str, Voice] = {
    "imp": Voice(  # mischievous: high, quick, bouncing upwards, crisp consonants
        pitch_hz=(230.0, 300.0),
        melody_semitones=3.0,
        glide_semitones=2.5,
        syllables_per_s=5.5,
        breathiness=0.12,
        whisper_share=0.05,
        consonants=("t", "k", "p", "s", "t", "k"),
        consonant_share=0.75,
        vibrato=(6.5, 0.25),
        tremolo=(0.0, 0.0),
        roughness=0.0,
        tract_scale=1.18,
        tail_s=0.35,
        tail_mix=0.12,
    ),
    "lament": Voice(  # melancholy: middling, slow, sighing downwards, breathy, trembling
        pitch_hz=(150.0, 200.0),
        melody_semitones=1.5,
        glide_semitones=-2.5,
        syllables_per_s=3.6,
        breathiness=0.28,
        whisper_share=0.1,
        consonants=("h", "sh", "f", "h"),
        consonant_share=0.5,
        vibrato=(5.0, 0.5),
        tremolo=(5.5, 0.25),
        roughness=0.0,
        tract_scale=1.03,
        tail_s=1.0,
        tail_mix=0.16,
    ),
    "wraith": Voice(  # malevolent: low, growling, half whispered, a long dark tail
        pitch_hz=(80.0, 100.0),
        melody_semitones=1.0,
        glide_semitones=-1.0,
        syllables_per_s=4.3,
        breathiness=0.18,
        whisper_share=0.2,
        consonants=("sh", "k", "h", "s"),
        consonant_share=0.6,
        vibrato=(3.5, 0.3),
        tremolo=(0.0, 0.0),
        roughness=0.2,
        tract_scale=0.86,
        tail_s=1.2,
        tail_mix=0.18,
    ),
}


@dataclass(frozen=True, slots=True)
class _Syllable:
    start_s: float
    duration_s: float
    vowel: int
    whispered: bool
    consonant: Consonant | None
    accent_semitones: float


def speak(voice_model: str, rng: np.random.Generator, samplerate: int) -> np.ndarray:
    """One utterance of `voice_model` (one of `VOICES`): float32 mono at `samplerate`,
    0.8 to 3 s long, peaking at -1 dBFS. The same `rng` state gives the same utterance."""
    voice = VOICES.get(voice_model)
    if voice is None:
        raise ValueError(f"unknown voice model {voice_model!r}; known: {', '.join(VOICES)}")
    if samplerate < 8000:
        raise ValueError(f"a sample rate of {samplerate} Hz is too low to speak at")
    tail_s = min(voice.tail_s * 0.6, 0.8)
    syllables = _plan(voice, rng, MAX_S - tail_s)
    speech_s = syllables[-1].start_s + syllables[-1].duration_s
    length = round(max(MIN_S, min(MAX_S, speech_s + tail_s)) * samplerate)
    t = np.arange(length) / samplerate
    envelope, voicing, centres = _syllable_envelopes(syllables, t, length, samplerate)
    f0 = _pitch(voice, syllables, rng, t, samplerate)
    excitation = _excitation(voice, rng, f0, voicing, samplerate) * envelope
    if voice.tremolo[1] > 0:
        excitation *= 1 - voice.tremolo[1] * (0.5 + 0.5 * np.sin(2 * np.pi * voice.tremolo[0] * t))
    if voice.roughness > 0:
        flutter = _smooth_noise(rng, length, samplerate, 40.0)
        excitation *= 1 + voice.roughness * np.clip(flutter, -1.0, 1.0)
    dry = _formant_filter(excitation, voice, syllables, centres, samplerate)
    for syllable in syllables:
        if syllable.consonant is not None:
            _add_consonant(dry, syllable, rng, samplerate)
    out = _room(dry, voice, rng, samplerate)
    fade = min(length, int(0.05 * samplerate))
    out[length - fade :] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.max(np.abs(out)))
    return (out * (PEAK / peak if peak > 0 else 0.0)).astype(np.float32)


def _plan(voice: Voice, rng: np.random.Generator, longest_s: float) -> list[_Syllable]:
    """Syllables in words of one to four, with short pauses between words; the first
    syllable is voiced, and no two whispered ones follow each other."""
    target_s = rng.uniform(0.9, longest_s)
    syllables: list[_Syllable] = []
    time_s = 0.04
    vowel = -1
    word_left = int(rng.integers(1, 5))
    while True:
        duration = float(np.clip(rng.lognormal(0.0, 0.2), 0.6, 1.6)) / voice.syllables_per_s
        if syllables and time_s + duration > target_s:
            break
        vowel = (vowel + int(rng.integers(1, len(VOWELS)))) % len(VOWELS)
        consonant = None
        if rng.random() < voice.consonant_share:
            consonant = CONSONANTS[voice.consonants[int(rng.integers(len(voice.consonants)))]]
        syllables.append(
            _Syllable(
                start_s=time_s,
                duration_s=duration,
                vowel=vowel,
                whispered=bool(rng.random() < voice.whisper_share)
                and bool(syllables)
                and not syllables[-1].whispered,
                consonant=consonant,
                accent_semitones=float(rng.normal(0.0, voice.melody_semitones)),
            )
        )
        time_s += duration
        word_left -= 1
        if word_left == 0:
            time_s += rng.uniform(0.06, 0.18)
            word_left = int(rng.integers(1, 5))
    return syllables


def _syllable_envelopes(
    syllables: list[_Syllable], t: np.ndarray, length: int, samplerate: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vowels' amplitude (each nucleus rising and falling as a sine arch), the voicing
    (1 voiced, 0 whispered) and each nucleus's centre in seconds."""
    envelope = np.zeros(length)
    voicing = np.ones(length)
    centres = np.empty(len(syllables))
    for index, syllable in enumerate(syllables):
        onset = syllable.consonant.duration_s * 0.6 if syllable.consonant else 0.0
        start = syllable.start_s + onset
        stop = syllable.start_s + syllable.duration_s * 0.85
        first, last = int(start * samplerate), min(length, int(stop * samplerate))
        x = (t[first:last] - start) / (stop - start)
        envelope[first:last] = np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 0.8
        if syllable.whispered:
            voicing[first:last] = 0.0
        centres[index] = (start + stop) / 2
    return envelope, voicing, centres


def _pitch(
    voice: Voice,
    syllables: list[_Syllable],
    rng: np.random.Generator,
    t: np.ndarray,
    samplerate: int,
) -> np.ndarray:
    """The pitch in Hz at every sample: each syllable glides from its accent, the whole
    utterance declines a little, with vibrato and a slow wander."""
    base = rng.uniform(*voice.pitch_hz)
    knots_t = []
    knots_st = []
    for syllable in syllables:
        knots_t += [syllable.start_s, syllable.start_s + syllable.duration_s * 0.9]
        knots_st += [syllable.accent_semitones, syllable.accent_semitones + voice.glide_semitones]
    semitones = np.interp(t, knots_t, knots_st)
    semitones -= 1.5 * t / max(t[-1], 1e-9)
    rate, depth = voice.vibrato
    semitones += depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
    semitones += 0.4 * _smooth_noise(rng, len(t), samplerate, 3.0)
    pitch: np.ndarray = np.clip(base * 2 ** (semitones / 12), PITCH_FLOOR_HZ, PITCH_CEILING_HZ)
    return pitch


def _excitation(
    voice: Voice, rng: np.random.Generator, f0: np.ndarray, voicing: np.ndarray, samplerate: int
) -> np.ndarray:
    """Glottal pulses with breath, blending into plain breath noise where whispered."""
    phase = np.cumsum(f0 / samplerate) % 1.0
    opening, closing = 0.4, 0.16
    pulse = np.where(
        phase < opening,
        0.5 - 0.5 * np.cos(np.pi * phase / opening),
        np.where(
            phase < opening + closing,
            np.cos(0.5 * np.pi * (phase - opening) / closing),
            0.0,
        ),
    )
    glottal = np.diff(pulse, prepend=0.0)
    glottal /= np.sqrt(np.mean(glottal**2)) + 1e-12
    noise = rng.standard_normal(len(f0))
    breath = noise * np.where(phase < opening + closing, 1.0, 0.35)
    breath /= np.sqrt(np.mean(breath**2)) + 1e-12
    voiced = (1 - voice.breathiness) * glottal + voice.breathiness * breath
    return voicing * voiced + (1 - voicing) * 0.6 * noise


def _formant_filter(
    signal: np.ndarray,
    voice: Voice,
    syllables: list[_Syllable],
    centres: np.ndarray,
    samplerate: int,
) -> np.ndarray:
    """`signal` through four resonators that glide between the syllables' vowel targets,
    one response per block of about 10 ms, by overlap-add in the frequency domain."""
    hop = 1 << max(6, int(np.log2(samplerate * 0.011)))
    size = 4 * hop
    blocks = -(-len(signal) // hop)
    padded = np.zeros(blocks * hop)
    padded[: len(signal)] = signal
    block_t = (np.arange(blocks) + 0.5) * hop / samplerate
    targets = VOWELS[[syllable.vowel for syllable in syllables]] * voice.tract_scale
    formants = np.stack(
        [np.interp(block_t, centres, targets[:, k]) for k in range(targets.shape[1])], axis=1
    )
    nyquist_safe = 0.45 * samplerate
    z1 = np.exp(-2j * np.pi * np.fft.rfftfreq(size, 1 / samplerate) / samplerate)
    z2 = z1 * z1
    response = np.ones((blocks, len(z1)), dtype=np.complex128)
    for k in range(formants.shape[1]):
        frequency = np.minimum(formants[:, k : k + 1], nyquist_safe)
        radius = np.exp(-np.pi * BANDWIDTHS[k] * voice.tract_scale / samplerate)
        b = 2 * radius * np.cos(2 * np.pi * frequency / samplerate)
        c = -(radius**2)
        response *= (1 - b - c) / (1 - b * z1 - c * z2)
    spectra = np.fft.rfft(padded.reshape(blocks, hop), n=size) * response
    pieces = np.fft.irfft(spectra, n=size)
    out = np.zeros((blocks + 3) * hop)
    for part in range(4):
        out[part * hop : (part + blocks) * hop] += pieces[:, part * hop : (part + 1) * hop].ravel()
    return out[: len(signal)]


def _add_consonant(
    out: np.ndarray, syllable: _Syllable, rng: np.random.Generator, samplerate: int
) -> None:
    """Add `syllable`'s opening noise, shaped around its centre frequency, into `out`."""
    consonant = syllable.consonant
    assert consonant is not None
    first = int(syllable.start_s * samplerate)
    length = min(int(consonant.duration_s * samplerate), len(out) - first)
    if length <= 8:
        return
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequency = np.maximum(np.fft.rfftfreq(length, 1 / samplerate), 1.0)
    centre = min(consonant.centre_hz, 0.4 * samplerate)
    spectrum *= np.exp(-0.5 * (np.log2(frequency / centre) / (consonant.octaves / 2)) ** 2)
    noise = np.fft.irfft(spectrum, n=length)
    x = np.linspace(0.0, 1.0, length)
    if consonant.kind == "plosive":
        shape = np.minimum(x * 20, 1.0) * np.exp(-x * 4)
    else:
        shape = np.sin(np.pi * x) ** 1.5
    burst = noise * shape
    scale = np.max(np.abs(burst))
    vowel_peak = np.max(np.abs(out[first : first + int(syllable.duration_s * samplerate)]))
    out[first : first + length] += burst * (consonant.gain * max(vowel_peak, 1e-3) / scale)


def _room(dry: np.ndarray, voice: Voice, rng: np.random.Generator, samplerate: int) -> np.ndarray:
    """`dry` with a room's tail: convolved with decaying, darkened noise, mixed in."""
    length = int(voice.tail_s * samplerate)
    t = np.arange(length) / samplerate
    impulse = rng.standard_normal(length) * np.exp(-6.9 * t / voice.tail_s)
    impulse[: int(0.012 * samplerate)] = 0.0
    size = 1 << int(np.ceil(np.log2(len(dry) + length)))
    frequency = np.fft.rfftfreq(size, 1 / samplerate)
    response = np.fft.rfft(impulse, n=size) / (1 + (frequency / 2500.0) ** 2)
    wet = np.fft.irfft(np.fft.rfft(dry, n=size) * response, n=size)[: len(dry)]
    wet *= np.sqrt(np.mean(dry**2) / (np.mean(wet**2) + 1e-20))
    return (1 - voice.tail_mix) * dry + voice.tail_mix * wet


def _smooth_noise(rng: np.random.Generator, length: int, samplerate: int, hz: float) -> np.ndarray:
    """Noise wandering at about `hz`, unit standard deviation: random knots joined smoothly."""
    knots = max(2, int(length / samplerate * hz) + 2)
    values = rng.standard_normal(knots)
    return np.interp(np.linspace(0, knots - 1, length), np.arange(knots), values)
