"""Named variants: knob overrides over pipeline.DEFAULT."""
VARIANTS = {
    "bm25": dict(),
    "bm25_nostem": dict(stem=False),
    "bm25_plain": dict(bm25_text="plain"),
    "bm25_speaker": dict(bm25_text="speaker"),
    "bm25_qstop": dict(qstop=True),
    "bm25_skip": dict(pack="skip"),
    "minilm": dict(bm25=False, dense="minilm"),
    "e5": dict(bm25=False, dense="e5"),
    "rrf_minilm": dict(dense="minilm"),
    "rrf_e5": dict(dense="e5"),
}
B = dict(dense="minilm", qstop=True)  # base hybrid
VARIANTS.update({
    "hyb": dict(B),
    "hyb_z": dict(B, fusion="z"),
    "hyb_sess": dict(B, session=1.0),
    "hyb_sess_z": dict(B, fusion="z", session=0.5),
    "hyb_sessdoc": dict(B, session=1.0, session_dense="doc"),
    "hyb_sessmax": dict(B, session=1.0, session_dense="max"),
    "hyb_when": dict(B, when_boost=0.5),
    "hyb_dates": dict(B, keys=["dates"]),
    "hyb_prf": dict(B, prf=5),
    "hyb_dprf": dict(B, dense_prf=0.5),
    "hyb_win": dict(B, window=1, window_w=0.5),
    "hyb_blocks": dict(B, blocks=True),
    "hyb_skip": dict(B, pack="skip"),
})
Z = dict(B, fusion="z", session=0.5)
VARIANTS.update({
    "z": dict(Z),
    "z_time1": dict(Z, time_w=1.0),
    "z_time2": dict(Z, time_w=2.0),
    "z_time2_nores": dict(Z, time_w=2.0, time_resolved=False),
    "z_e5": dict(Z, dense2="e5"),
    "z_win": dict(Z, window=1, window_w=0.3),
    "z_prf": dict(Z, prf=5),
    "z_when": dict(Z, when_boost=0.5),
    "z_dates": dict(Z, keys=["dates"]),
    "z_sess1": dict(Z, session=1.0),
    "z_sess03": dict(Z, session=0.3),
    "z_wd07": dict(Z, w_dense=0.7),
    "z_wd14": dict(Z, w_dense=1.4),
})
VARIANTS.update({
    "zc": dict(Z, session=1.0, window=1, window_w=0.3, prf=5),
    "zc_e5": dict(Z, session=1.0, window=1, window_w=0.3, prf=5, dense2="e5"),
    "zc_win2": dict(Z, session=1.0, window=2, window_w=0.5, prf=5),
    "zc_time": dict(Z, session=1.0, window=1, window_w=0.3, prf=5, time_w=1.0, keys=["dates"]),
    "zc_nb1": dict(Z, session=1.0, window=1, window_w=0.3, prf=5, neighbours=1),
    "zc_blocks": dict(Z, session=1.0, window=1, window_w=0.3, prf=5, blocks=True),
})
