"""Word lists the recognizers share: stop words, street vocabulary, countries."""

from __future__ import annotations

# English function words and a few note words that never start or continue a name or street
STOPWORDS: frozenset[str] = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once",
    "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she",
    "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
    "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
    "yourselves", "also", "per", "via", "its", "let", "may", "might", "must", "shall", "yes",
    "ok", "okay", "please", "thanks", "thank", "hello", "hi", "dear", "regards", "sir", "madam",
    "patient", "pt", "pts", "left", "right", "no", "new", "old", "moved", "lives", "live",
    "lived", "living", "located", "near", "next", "last", "today", "yesterday", "tomorrow",
    "morning", "evening", "night", "noon", "am", "pm"
])

STREET_SUFFIXES: frozenset[str] = frozenset([
    "alley", "allee", "aly", "avenue", "ave", "av", "branch", "bridge", "brook", "brooks", "burg",
    "burgs", "bypass", "byp", "camp", "canyon", "cape", "causeway", "center", "centre", "centers",
    "circle", "cir", "circles", "cliff", "cliffs", "close", "cl", "club", "common", "corner",
    "corners", "course", "court", "ct", "courts", "cove", "coves", "creek", "crescent", "cres",
    "crest", "crossing", "crossroad", "curve", "dale", "dam", "divide", "drive", "dr", "drives",
    "estate", "estates", "expressway", "expy", "extension", "ext", "extensions", "fall", "falls",
    "ferry", "field", "fields", "flat", "flats", "ford", "fords", "forest", "forge", "forges",
    "fork", "forks", "fort", "freeway", "fwy", "garden", "gardens", "gdns", "gateway", "glen",
    "glens", "green", "greens", "grove", "gr", "groves", "harbor", "harbors", "harbour", "haven",
    "heights", "hts", "highway", "hwy", "hill", "hills", "hollow", "inlet", "island", "islands",
    "isle", "junction", "junctions", "key", "keys", "knoll", "knolls", "lake", "lakes", "land",
    "landing", "lane", "ln", "light", "lights", "loaf", "lock", "locks", "lodge", "loop", "mall",
    "manor", "manors", "meadow", "meadows", "mews", "mill", "mills", "mission", "motorway",
    "mount", "mt", "mountain", "mountains", "neck", "orchard", "oval", "overpass", "park",
    "parks", "parkway", "pkwy", "parkways", "pass", "passage", "path", "pike", "pine", "pines",
    "place", "pl", "plain", "plains", "plaza", "plz", "point", "points", "port", "ports",
    "prairie", "radial", "ramp", "ranch", "rapid", "rapids", "rest", "ridge", "ridges", "river",
    "road", "rd", "roads", "route", "rte", "row", "rue", "run", "shoal", "shoals", "shore",
    "shores", "skyway", "spring", "springs", "spur", "spurs", "square", "sq", "squares",
    "station", "stravenue", "stream", "street", "st", "str", "streets", "summit", "terrace",
    "ter", "throughway", "trace", "track", "trafficway", "trail", "trl", "tunnel", "turnpike",
    "tpke", "underpass", "union", "unions", "valley", "valleys", "viaduct", "view", "views",
    "village", "villages", "ville", "vista", "walk", "walks", "wall", "way", "ways", "well",
    "wells", "wynd", "parade", "esplanade", "embankment", "quay", "wharf", "rise", "broadway",
    "boulevard", "blvd"
])

# the suffixes that name a street even without a house number ("Marina Fort Street")
STRONG_SUFFIXES: frozenset[str] = frozenset(
    ["street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive", "boulevard", "blvd",
     "terrace", "crescent"])

# endings of street names in other languages (Koskikatu, Søndergade, Villacher Strasse)
STREET_ENDINGS: tuple[str, ...] = (
    "katu", "tie", "kuja", "vej", "gade", "gatan", "vägen", "väg", "gränd", "stræde",
    "straße", "strasse", "str.", "weg", "laan", "gracht", "plein", "kade", "vei", "veien",
    "gata", "utca", "gasse", "allee", "platz", "ring", "damm", "ufer", "brücke", "brucke",
    "steig", "pfad", "markt", "stieg", "plass", "torget", "torv", "vænget", "straat", "dreef",
    "singel", "hof", "hove", "rakpart", "körút", "sétány", "stien", "veien")
# words that start a street name in other languages (Rua do Arenque 1634)
STREET_PREFIXES: frozenset[str] = frozenset([
    "rua", "via", "viale", "rue", "calle", "carrer", "avenida", "av.", "avda.", "avinguda",
    "boulevard", "bd", "bd.", "piazza", "corso", "largo", "travessa", "praça", "praca", "plaza",
    "paseo", "camino", "chemin", "allée", "allee", "quai", "place", "impasse", "strada", "ulica",
    "ul.", "ul", "aleja", "al.", "odos", "οδός", "λεωφ.", "λεωφόρος", "plac", "rynek", "trg",
    "pod"
])
# street words in other languages that stand alone (Király u. 15., Erzsébet tér 19.)
STREET_WORDS: frozenset[str] = frozenset([
    "u.", "utca", "út", "útja", "tér", "köz", "sor", "kapu", "körút", "sétány", "rkp.", "ul.",
    "ulica", "str.", "str", "gatan", "vej", "gade", "gate", "terrasse", "allé", "vei", "veien",
    "vegen", "vägen"
])

UNIT_WORDS: tuple[str, ...] = ("apartment", "apt", "suite", "ste", "unit", "flat", "floor",
                               "fl", "room", "rm", "building", "bldg", "block", "#")

COUNTRIES: frozenset[str] = frozenset(c.lower() for c in """
Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan|
Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia|
Botswana|Brazil|Brunei|Bulgaria|Burundi|Cambodia|Cameroon|Canada|Chad|Chile|China|Colombia|
Congo|Costa Rica|Croatia|Cuba|Cyprus|Czech Republic|Czechia|Denmark|Djibouti|Dominica|
Ecuador|Egypt|El Salvador|Eritrea|Estonia|Ethiopia|Fiji|Finland|France|Gabon|Gambia|Georgia|
Germany|Ghana|Greece|Greenland|Grenada|Guatemala|Guinea|Guyana|Haiti|Honduras|Hong Kong|
Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Jamaica|Japan|Jordan|
Kazakhstan|Kenya|Kosovo|Kuwait|Latvia|Lebanon|Liberia|Libya|Liechtenstein|Lithuania|
Luxembourg|Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|Mexico|Moldova|Monaco|Mongolia|
Montenegro|Morocco|Mozambique|Namibia|Nepal|Netherlands|New Zealand|Nicaragua|Niger|Nigeria|
North Macedonia|Norway|Oman|Pakistan|Panama|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|
Romania|Russia|Rwanda|Samoa|San Marino|Saudi Arabia|Senegal|Serbia|Singapore|Slovakia|
Slovenia|Somalia|South Africa|South Korea|Spain|Sri Lanka|Sudan|Sweden|Switzerland|Syria|
Taiwan|Tanzania|Thailand|Togo|Tunisia|Turkey|Uganda|Ukraine|United Arab Emirates|
United Kingdom|United States|USA|UK|Uruguay|Uzbekistan|Venezuela|Vietnam|Yemen|Zambia|
Zimbabwe|Greenlander|Faroe Islands
""".replace("\n", "").split("|"))
