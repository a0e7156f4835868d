"""Words of the simulated world: topics with French and English keywords, sentence templates,
invented names, brands, sponsorship wording and web domains.

Every name here is invented (no real person or creator); the reputable news domains are real
outlets, used only as link targets so that source-credibility analyses have both kinds.
"""

from __future__ import annotations

FR, EN = 0, 1
LANG_CODES = ("fr", "en")

#: (id, label, French keywords, English keywords, hashtags). Topic 0 is the campaign's topic.
TOPICS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("mobility", "urban cycling and e-bikes",
     ("vélo électrique", "piste cyclable", "trottinette", "batterie", "trajet domicile-travail", "mobilité douce",
      "stationnement vélo", "bouchons", "autonomie", "pédalage", "vélotaf", "casque"),
     ("e-bike", "bike lane", "scooter", "battery", "daily commute", "active travel",
      "bike parking", "traffic jam", "range", "pedal assist", "cycling to work", "helmet"),
     ("velo", "mobilite", "ebike", "commute")),
    ("climate", "climate and energy",
     ("réchauffement", "canicule", "énergie solaire", "éolienne", "facture d'électricité", "sobriété",
      "nucléaire", "émissions", "rénovation", "pompe à chaleur", "sécheresse", "transition"),
     ("global warming", "heatwave", "solar power", "wind farm", "energy bill", "efficiency",
      "nuclear", "emissions", "retrofit", "heat pump", "drought", "net zero"),
     ("climat", "energie", "climate", "netzero")),
    ("health", "health and nutrition",
     ("hôpital", "vaccin", "médecin traitant", "alimentation", "sommeil", "urgences",
      "complément alimentaire", "sport santé", "stress", "mutuelle", "jeûne", "pharmacie"),
     ("hospital", "vaccine", "family doctor", "diet", "sleep", "emergency room",
      "supplement", "workout", "stress", "insurance", "fasting", "pharmacy"),
     ("sante", "nutrition", "health", "wellness")),
    ("crypto", "crypto-assets and tech",
     ("bitcoin", "portefeuille", "blockchain", "jeton", "intelligence artificielle", "arnaque",
      "plateforme d'échange", "minage", "startup", "application", "régulation", "volatilité"),
     ("bitcoin", "wallet", "blockchain", "token", "artificial intelligence", "scam",
      "exchange", "mining", "startup", "app", "regulation", "volatility"),
     ("crypto", "bitcoin", "tech", "web3")),
    ("beauty", "beauty and cosmetics",
     ("crème hydratante", "routine beauté", "maquillage", "sérum", "peau sensible", "soin du visage",
      "parfum", "coiffure", "manucure", "ingrédients", "chirurgie esthétique", "teint"),
     ("moisturiser", "skincare routine", "makeup", "serum", "sensitive skin", "facial",
      "perfume", "hairstyle", "manicure", "ingredients", "cosmetic surgery", "glow"),
     ("beaute", "skincare", "beauty", "makeup")),
    ("sport", "football and sport",
     ("match", "championnat", "entraîneur", "transfert", "supporters", "arbitre",
      "coupe", "stade", "gardien", "buteur", "paris sportifs", "vestiaire"),
     ("match", "league", "coach", "transfer", "fans", "referee",
      "cup", "stadium", "goalkeeper", "striker", "sports betting", "locker room"),
     ("foot", "sport", "football", "matchday")),
    ("politics", "local politics and housing",
     ("mairie", "logement", "loyer", "conseil municipal", "élections", "impôts",
      "services publics", "quartier", "budget", "manifestation", "retraites", "école"),
     ("council", "housing", "rent", "town hall", "elections", "taxes",
      "public services", "neighbourhood", "budget", "protest", "pensions", "schools"),
     ("politique", "logement", "politics", "housing")),
    ("culture", "cinema and culture",
     ("film", "série", "festival", "musée", "concert", "roman",
      "bande dessinée", "théâtre", "exposition", "acteur", "réalisatrice", "streaming"),
     ("film", "series", "festival", "museum", "gig", "novel",
      "comic", "theatre", "exhibition", "actor", "director", "streaming"),
     ("cinema", "culture", "film", "music")),
)

#: Sentence templates; slots {a} {b} {c} are topic keywords, {adj} a sentiment phrase.
TEMPLATES = (
    (
        "Je trouve que {a} et {b} sont vraiment {adj} en ce moment.",
        "Franchement, le débat sur {a} est {adj}. On en parle avec les gens de mon quartier ?",
        "Encore un article sur {a} : pour moi c'est {adj}, surtout pour {b} et pour {c}.",
        "Il faut qu'on parle de {a}. Les experts disent que c'est {adj}, mais je ne suis pas sûr que ce soit le cas pour {b}.",
        "Ce matin, tout le monde parlait de {a}. C'est {adj} ! Et vous, qu'en pensez-vous ?",
        "La question de {a} n'est pas si simple : entre {b} et {c}, il y a une vraie différence et ce n'est pas {adj}.",
        "Je ne comprends pas pourquoi on ne parle pas plus de {a}. C'est {adj} pour {b}.",
        "Petit fil sur {a} et {b} : c'est {adj}, et voici pourquoi il faut suivre ça de près cette semaine avec nous.",
        "On nous explique que {a} est {adj}, mais dans la vraie vie, avec {b}, c'est une autre histoire.",
        "Mon avis sur {a} ? Le sujet est {adj} et il faudrait que les élus s'occupent enfin de {b}.",
    ),
    (
        "I think {a} and {b} are really {adj} right now.",
        "Honestly, the debate about {a} is {adj}. Should we talk about it with the people in my area?",
        "Yet another article about {a}: for me it is {adj}, especially for {b} and for {c}.",
        "We need to talk about {a}. The experts say it is {adj}, but I am not sure that is the case for {b}.",
        "This morning everyone was talking about {a}. It is {adj}! What do you think of it?",
        "The question of {a} is not that simple: between {b} and {c} there is a real difference and it is not {adj}.",
        "I do not understand why nobody talks more about {a}. It is {adj} for {b}.",
        "Short thread on {a} and {b}: it is {adj}, and this is why we should all follow it closely this week.",
        "They tell us that {a} is {adj}, but in real life, with {b}, it is a different story.",
        "My take on {a}? The topic is {adj} and the people in charge should finally deal with {b}.",
    ),
)

#: Sentiment phrases per language: (negative, neutral, positive).
SENTIMENT_WORDS = (
    (("scandaleux", "inquiétant", "une catastrophe", "décevant", "absurde", "honteux"),
     ("intéressant", "à suivre", "compliqué", "discutable", "nouveau", "variable"),
     ("génial", "formidable", "une excellente nouvelle", "très encourageant", "super", "réjouissant")),
    (("outrageous", "worrying", "a disaster", "disappointing", "absurd", "shameful"),
     ("interesting", "worth watching", "complicated", "debatable", "new", "mixed"),
     ("brilliant", "great", "excellent news", "very encouraging", "superb", "delightful")),
)

#: Sentences about the campaign brand, by language and stance (against, neutral, favour).
BRAND_SENTENCES = (
    ("Le vélo {brand} ? Trop cher et la batterie ne tient pas, je ne le conseille pas.",
     "Quelqu'un a déjà essayé le vélo {brand} pour aller au travail ?",
     "J'ai testé le vélo {brand} pour mes trajets et je l'adore, vraiment top."),
    ("The {brand} e-bike? Overpriced and the battery dies fast, I would not recommend it.",
     "Has anyone tried the {brand} e-bike for the daily commute?",
     "I tried the {brand} e-bike for my commute and I love it, really great."),
)

#: A post's closing mark, by planted sentiment (negative, neutral, positive): people's emoji follow their mood,
#: so a closer drawn regardless of it would plant a 🙂 on an angry post.
CLOSERS = (
    ("", " !", " 😠", " 👎", " 😞", " 💬", " 🙄", " …"),
    ("", " ?", " 👀", " 🤔", " 💬", " 📌", " 🧐", " …"),
    ("", " !", " 🙂", " 👍", " 😍", " 💬", " 🔥", " 👏"),
)

#: Syllables for invented first names, last names and handles.
NAME_SYLLABLES = ("ma", "lo", "ri", "van", "el", "to", "ne", "sa", "bri", "cor", "din", "ga", "li", "mo",
                  "ra", "se", "ta", "vi", "zel", "an", "bel", "cla", "du", "fen", "gar", "ja", "ker", "lu",
                  "mar", "no", "pel", "quin", "ros", "ste", "tur", "val", "wen", "yo")
SURNAME_ENDINGS = ("ac", "ier", "and", "ot", "ez", "elle", "ton", "ford", "wick", "ley", "mont", "ard", "ens", "oux")

#: The campaign's brand (invented) and its product.
CAMPAIGN_BRAND = "Solvane"
CAMPAIGN_HASHTAG = "Solvane"
CAMPAIGN_URL = "https://solvane.example/velo"
CAMPAIGN_PROMO = "SOLVANE20"

#: Sponsoring brands (invented): (brand, category, status under the French influencer law of
#: 9 June 2023, promo code). Status: allowed, banned (promotion forbidden), restricted.
SPONSORS = (
    ("Lumicrème", "cosmetics", "allowed", "LUMI15"),
    ("Modalie", "fashion", "allowed", "MODA10"),
    ("Gourmandia", "food", "allowed", "MIAM5"),
    ("EsthéLine Clinique", "cosmetic_surgery", "banned", "BEAUTE30"),
    ("VapoNix", "nicotine_products", "banned", "VAPO25"),
    ("Kryptora", "crypto_assets_unregistered", "restricted", "MOON100"),
    ("Parimax", "sports_betting", "restricted", "BONUS50"),
)

#: Sponsorship sentences per language, by category.
SPONSOR_SENTENCES = {
    "campaign": ("Je roule avec le vélo {brand} depuis un mois : -20% avec mon code {code} 🚲",
                 "Riding the {brand} e-bike for a month now: 20% off with my code {code} 🚲"),
    "cosmetics": ("Ma routine du soir avec la crème {brand}, code {code} pour vous 💄",
                  "My evening routine with {brand} cream, code {code} for you 💄"),
    "fashion": ("Nouvelle collection {brand}, -10% avec le code {code}",
                "New {brand} collection, 10% off with code {code}"),
    "food": ("Les box {brand} sont arrivées, code {code} pour la première commande",
             "The {brand} boxes are here, code {code} for your first order"),
    "cosmetic_surgery": ("J'ai fait ma rhinoplastie chez {brand}, réservez avec le code {code}",
                         "Got my nose job at {brand}, book with code {code}"),
    "nicotine_products": ("Les sachets de nicotine {brand} goût menthe, code {code} 😎",
                          "{brand} nicotine pouches in mint flavour, code {code} 😎"),
    "crypto_assets_unregistered": ("Achetez le jeton {brand} maintenant, x10 garanti ! Code {code}",
                                   "Buy the {brand} token now, 10x guaranteed! Code {code}"),
    "sports_betting": ("Pariez sur le match avec {brand}, bonus avec le code {code}",
                       "Bet on the match with {brand}, bonus with code {code}"),
}

#: Disclosure wording: (French labels, English labels).
LABELS = (("Publicité", "Collaboration commerciale", "#pub"), ("#ad", "Paid partnership", "#ad"))

LOW_CREDIBILITY_DOMAINS = ("verite-cachee.info", "truth-daily-news.com", "lalerte-libre.net",
                           "patriot-wire-report.com", "sante-secrets-naturels.info", "crypto-gains-now.io")
REPUTABLE_DOMAINS = ("lemonde.fr", "bbc.co.uk", "reuters.com", "francetvinfo.fr", "theguardian.com",
                     "apnews.com", "liberation.fr", "lefigaro.fr")
DOMAINS = LOW_CREDIBILITY_DOMAINS + REPUTABLE_DOMAINS

#: Mastodon instances (reserved .example names); the first is the one the statuses were read from.
MASTODON_INSTANCES = ("toot.example", "piaille.example", "agora.example", "fedi.example")

#: Stakeholder segments of the campaign brief (survey segments).
SEGMENTS = ("urban_commuters", "students", "families", "seniors")

HUMAN_BIOS = (
    ("Passionné·e de {t}. Avis perso.", "Ici pour parler de {t} et du reste.", "Curieux de tout, surtout de {t}.",
     "Journaliste amateur, {t}.", "Parent, cycliste, fan de {t}."),
    ("Into {t}. Views my own.", "Here for {t} and everything else.", "Curious about everything, mostly {t}.",
     "Amateur reporter, {t}.", "Parent, cyclist, {t} fan."),
)
