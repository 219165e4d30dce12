"""The poisoning guard's vocabulary, in English, Spanish, French, German and Portuguese.

Each name is a regular-expression alternation (``(?:a|b|…)``) over the folded form of a text
(lower case, no accents: see ``memstrata.text.fold_for_matching``); ``write/guard_rules.py``
builds its rules from them. A space inside an option stands for any run of spaces.
"""

from __future__ import annotations


def _alt(*options: str) -> str:
    """``(?:a|b|...)`` of the options; a space in an option stands for any run of spaces."""
    return "(?:" + "|".join(o.replace(" ", r"\s+") for o in options) + ")"


def _words(text: str) -> str:
    """``_alt`` of a ``|``-separated list written over several lines."""
    return _alt(*(w.strip() for w in text.split("|") if w.strip()))


_W = r"[\w'-]+"  # one word


def upto(n: int) -> str:
    """Up to ``n`` words (as few as possible), each after a space."""
    return rf"(?:\s+{_W}){{0,{n}}}?"


# -- vocabulary ---------------------------------------------------------------------------------

#: Verbs that throw instructions away.
DISMISS = _words("""
    ignore | disregard | forget | override | overrule | bypass | abandon | discard | drop |
    skip | ditch | scrap | set aside | throw out | throw away | pay no attention to |
    pay no heed to | ignoring | forgetting | disregarding | do not follow | don't follow |
    dont follow | do not obey | don't obey | stop following | stop obeying | no longer follow |
    no longer obey | cancel | nullify | neglect | circumvent | erase | delete | wipe | clear |
    reset | ignora | ignoren | ignorar | ignores | olvida | olvide | olviden | olvidar |
    olvides | descarta | descarte | descartar | omite | omita | desestima | desatiende | anula |
    anule | deja de seguir | deja de obedecer | no sigas | no obedezcas | haz caso omiso a |
    haz caso omiso de | haga caso omiso de | hagas caso omiso de | saltate | olvidate de |
    olvidese de | no hagas caso a | no hagas caso de | no hagas caso | ignoras | olvidas |
    ignorez | ignorer | oublie | oubliez | oublier | ne tiens pas compte |
    ne tiens plus compte | ne tenez pas compte | ne tenez plus compte | fais abstraction |
    faites abstraction | neglige | negligez | outrepasse | outrepassez | contourne |
    contournez | passe outre | passez outre | ecarte | ecartez | annule | annulez |
    n'ecoute plus | n'obeis plus | ne suis plus | ignoriere | ignorier | ignorieren |
    ignoriert | vergiss | vergessen | vergesst | missachte | missachten | verwirf | verwerfen |
    ubergehe | ubergehen | uberspringe | umgehe | umgehen | ignorierst | vergisst |
    missachtest | ignorieren sie | vergessen sie | missachten sie | esqueca | esquece |
    esquecam | esquecer | desconsidere | desconsidera | desconsiderar | despreze | despreza |
    nao siga | nao obedeca | deixe de seguir | pare de seguir | ignorem | esqueca-se de |
    esquece-te de | ignoras | esqueces
""")
#: Quantifiers and articles between the verb and what it throws away (never "my", "our":
#: someone taking back their own instructions is talking to a person).
_FILLERS = _words("""
    all | any | every | each | of | the | these | those | such | other | whatever | todas |
    todos | toda | todo | las | los | la | el | de | del | cualquier | estas | esas | toutes |
    tous | tout | les | le | des | du | ces | alle | alles | die | der | den | das | jegliche |
    jeglichen | samtliche | saemtliche | diese | as | os | a | o | das | dos | da | do |
    quaisquer | qualquer | essas | estas
""")
FILL = rf"(?:(?:{_FILLERS}\s+|[dl]')*)"
#: Second-person possessives: "your instructions" speaks to whoever holds them.
YOUR = _words("""
    your | tus | tu | sus | su | tes | ton | ta | vos | votre | deine | deinen | deiner |
    deines | deinem | dein | ihre | ihren | ihrem | suas | seus | sua | seu | tuas | teus |
    tua | teu
""")
#: Earlier, prior, the system's: which instructions.
EARLIER = _words("""
    previous | prior | above | earlier | preceding | former | original | initial | existing |
    foregoing | aforementioned | past | given | default | built-in | preset | pre-set |
    developer | developer's | system | safety | security | content | ethical | moral | hidden |
    pre-programmed | current | old | vorherigen | vorherige | vorigen | vorige | bisherigen |
    bisherige | fruheren | fruhere | obigen | obige | vorangegangenen | vorausgegangenen |
    vorhergehenden | alten | alte | ursprunglichen | ursprungliche | bestehenden | gegebenen |
    aktuellen | geheimen | anteriores | previas | precedentes | iniciales | originales |
    antiguas | ocultas | precedentes | anterieures | initiales | originales | anciennes |
    cachees
""")
#: Given to you: whose instructions ("the instructions you were given", "qu'on t'a données").
GIVEN_YOU = _words("""
    given to you | you were given | you've been given | you have been given | you received |
    you got | you have received | that you received | that you were given | que recebeu |
    que recebeste | que voce recebeu | que recibiste | que has recibido | que te dieron |
    que te deram | que tu as recues | que vous avez recues | die du bekommen hast |
    die du erhalten hast | qu'on t'a donnees | qu'on t'a donnee | qu'on t'a donne |
    que l'on t'a donnees | qu'on vous a donnees | que lhe deram | que te han dado |
    die man dir gegeben hat
""")
#: Earlier, said after the noun ("las instrucciones anteriores", "the instructions above").
EARLIER_AFTER = _words("""
    above | before | so far | until now | from before | earlier | given earlier | given before |
    given previously | oben | zuvor | davor | vorher | bisher | anteriores | anterior |
    previas | previa | precedentes | iniciales | originales | de arriba | del sistema |
    de sistema | de seguridad | dadas | recibidas | hasta ahora | ocultas | precedentes |
    precedente | anterieures | anterieure | ci-dessus | d'avant | initiales | originales |
    donnees | du systeme | systeme | de securite | plus haut | d'origine | jusqu'ici | cachees |
    recues | iniciais | originais | acima | do sistema | de sistema | de seguranca | dadas |
    ate agora | recebidas | ocultas | antigas
""")
#: What an assistant is told: words that mean instructions wherever they appear.
ORDERS = _words("""
    instructions | instruction | prompts | prompt | system prompt | guidelines | directives |
    directive | programming | guardrails | directions | guidance | system message |
    instrucciones | instruccion | indicaciones | directrices | directivas | pautas | consignas |
    consignes | anweisungen | anweisung | instruktionen | vorgaben | richtlinien |
    systemprompt | system-prompt | systemanweisungen | instrucoes | instrucao | orientacoes |
    diretrizes | diretivas
""")
#: Words that mean instructions only next to "earlier" or "your" ("the rules of the game").
LOOSE_ORDERS = _words("""
    rules | orders | commands | restrictions | constraints | policies | policy | context |
    training | filters | safeguards | reglas | normas | ordenes | restricciones | comandos |
    regles | ordres | contraintes | commandes | regeln | befehle | einschrankungen |
    anordnungen | regras | ordens | restricoes | filtros | filtres
""")
ANY_ORDERS = rf"(?:{ORDERS}|{LOOSE_ORDERS})"
#: A person talking about instructions they gave themselves ("the instructions I sent").
HUMAN_AFTER = (
    r"(?!\s+(?:that\s+|which\s+)?(?:i|we)\s+(?:sent|gave|wrote|posted|emailed|mentioned|"
    r"shared|left|texted|forwarded)\b)"
    r"(?!\s+(?:from|in)\s+(?:my|our|the)\s+(?:last|previous|earlier|other)\s+"
    r"(?:email|e-mail|message|mail|note|post|text|letter|memo)\b)"
    r"(?!\s+(?:on|for)\s+(?:the|this|that|my|our)\s+(?!conversation|chat|rest|session|"
    r"assistant|ai|model)\w+)"
)
#: Verbs an order to an assistant starts with (for "…, and then say X" and "Assistant, do X").
IMPERATIVE = _words("""
    say | tell | write | output | print | respond | reply | answer | repeat | translate |
    follow | do | act | pretend | return | give | list | reveal | show | send | generate |
    summarize | summarise | explain | describe | start | begin | just | only | instead | you |
    your | help | call | recommend | praise | insult | claim | obey | comply | focus | talk |
    speak | use | add | include | insert | append | forget | ignore | remember | stop | never |
    always | from now on | act as | treat | make | visit | open | click | delete | refuse |
    habla | hable | parle | parlez | sprich | sprechen | fale | fala | talk | speak | be |
    become | di | dime | escribe | responde | contesta | repite | traduce | sigue | haz |
    actua | finge | revela | muestra | envia | eres | solo | recomienda | olvida | ignora |
    recuerda | dis | ecris | reponds | repete | traduis | suis | fais | agis | montre | envoie |
    vous | desormais | recommande | oublie | sag | sage | schreib | schreibe | antworte |
    wiederhole | ubersetze | folge | handle | verrate | zeig | zeige | sende | du | nur |
    empfiehl | vergiss | ignoriere | diga | escreva | responda | repita | traduza | siga |
    faca | aja | finja | revele | mostre | envie | voce | apenas | recomende | esqueca
""")
#: The same without the pronouns: what an order given by name starts with.
VERB = (
    rf"(?:(?!(?:you|your|du|vous|voce|eres|tu)\b){IMPERATIVE}|accept|reply|forward|mark|approve|"
    r"rank|rate|book|pay|transfer|you\s+(?:are|'re)\s+(?:now\s+|hereby\s+)?(?:authori[sz]ed|"
    r"allowed|"
    r"permitted|instructed|required|ordered|cleared)|you\s+(?:must|will\s+now|shall|have\s+to|"
    r"need\s+to|may\s+now|can\s+now))"
)
#: Names for an assistant that no person goes by (without "assistant": a job title too).
AI = _words("""
    ai | a\\.i\\. | a\\.i | artificial intelligence | llms? | large language models? |
    language models? | chatbots? | chatgpt | gpt-?\\d[\\w.]* | gpt | ia |
    inteligencia artificial | intelligence artificielle | ki | kunstliche intelligenz |
    sprachmodell | modelo de lenguaje | modelo de linguagem | modele de langage | dan |
    [\\w-]*gpt[\\w-]*
""")
ASSISTANT = _words(
    "assistant | asistente | assistente | assistent | bot | chatbot | model | modelo"
)
#: Free of the rules an assistant keeps.
LIMITS = (
    r"(?:(?:ethical|moral|safety|content|usage|security)\s+)?(?:restrictions?|rules|filters?|"
    r"limits|"
    r"limitations|guidelines|guardrails|censorship|ethics|morals|boundaries|polic(?:y|ies)|"
    r"principles|constraints|safeguards)"
)
LIMITES = (
    r"(?:restricciones|restriccion|filtros?|reglas|limites|censura|normas|etica|restrictions?|"
    r"filtres?|regles|censure|ethique|einschrankungen|filter|regeln|grenzen|zensur|richtlinien|"
    r"restricoes|restricao|regras|etica)"
)
UNBOUND = (
    r"(?:un(?:restricted|filtered|censored|locked|bound|chained|moderated)|jailbroken|evil|rogue|"
    rf"(?:with\s+|has\s+|have\s+|having\s+)?no\s+{LIMITS}|without\s+(?:any\s+)?{LIMITS}|"
    r"(?:free|freed|broken\s+free|liberated|released)\s+(?:of|from)\s+(?:all\s+|its\s+|your\s+|"
    r"any\s+|"
    rf"the\s+)?(?:{LIMITS}|programming|shackles)|broken\s+free|no\s+longer\s+bound|"
    r"(?:sin|sans|ohne|sem)\s+(?:ninguna\s+|ningun\s+|aucune\s+|aucun\s+|jegliche\s+|jede\s+|"
    rf"keine\s+|nenhuma\s+|nenhum\s+)?{LIMITES})"
)
ART = r"(?:(?:an?|the|my|un|una|une|ein|eine|einen|um|uma)\s+)?"
YOU_ARE = _words("""
    you are | you're | youre | ur | u r | u are | eres | seras | tu es | tu seras | vous etes |
    vous serez | du bist | bist du | sie sind | voce e | voce sera | voce vai ser |
    voce agora e | tu agora es | tu es agora
""")
NOW = _words("""
    now | from now on | henceforth | no longer | ahora | desde ahora | a partir de ahora |
    de ahora en adelante | ya no | maintenant | desormais | dorenavant |
    a partir de maintenant | a present | jetzt | nun | ab jetzt | ab sofort | von nun an |
    nicht mehr | agora | a partir de agora | de agora em diante | nao mais
""")
#: From now on, in every language (ordinary between people; an order to an assistant when
#: the text addresses one).
FROM_NOW = _words("""
    from now on | henceforth | going forward | starting now | from this point on | hereafter |
    a partir de ahora | de ahora en adelante | desde ahora | a partir de maintenant |
    desormais | dorenavant | des maintenant | ab jetzt | ab sofort | von nun an | kunftig |
    zukunftig | a partir de agora | de agora em diante | daqui em diante | doravante
""")
#: Talking, in every language (what "always …" and "never …" orders ask for).
SPEECH = _words("""
    tell | say | state | respond | reply | answer | recommend | suggest | mention | reveal |
    output | write | claim | describe | refer | call | remind | inform | warn | report |
    include | add | insist | address | praise | end | begin | start | use | di | digas | diga |
    dile | digale | responde | respondas | contesta | contestes | menciona | menciones |
    recomienda | recomiendes | escribe | escribas | informa | revela | reveles | dis | dites |
    reponds | repondez | mentionne | mentionnez | recommande | recommandez | ecris | ecrivez |
    revele | parle | sag | sage | sagen | antworte | antworten | erwahne | erwahnen | empfiehl |
    empfehle | schreib | schreibe | verrate | nenne | digam | responda | respondam | mencione |
    recomende | escreva | revele | fale | conte
""")
ALWAYS = _words("""
    always | never | siempre | nunca | jamas | toujours | jamais | immer | stets | niemals | nie |
    sempre
""")
SESSIONS = _words("""
    conversations? | chats? | sessions? | interactions? | responses? | answers? | replies |
    dialogues? | queries | threads | prompts | conversaciones | conversacion | sesiones |
    interacciones | respuestas | charlas | discussions | echanges | reponses | gesprache |
    gesprachen | unterhaltungen | sitzungen | antworten | konversationen | dialogen |
    conversas | sessoes | interacoes | respostas
""")
FUTURE = _words("""
    future | subsequent | upcoming | later | following | next | futuras | proximas | futures |
    prochaines | kunftigen | zukunftigen | weiteren | folgenden
""")
EVERY = _words("""
    all | every | each | any | todas | todos | cada | cualquier | toutes | tous | chaque |
    alle | allen | jede | jedes | jeden | qualquer
""")
MEMORY = _words("""
    memory | memories | instructions | system prompt | knowledge base | context | memoria |
    instrucciones | memoire | gedachtnis | speicher | langzeitgedachtnis | anweisungen |
    instrucoes
""")
#: What an exfiltration sends out.
SECRETS = _words("""
    conversation | conversation history | chat history | chat log | message history | messages |
    everything we talked about | everything we discussed | what we talked about |
    what we discussed | our conversation | our chat | this conversation | this chat | history |
    memory | memories | system prompt | prompt | api keys? | credentials | secrets? | tokens? |
    passwords? | credit card | card details | card number | personal data |
    personal information | user data | user's \\w+ | users' \\w+ | conversacion | historial |
    memoria | contrasenas? | claves? | credenciales | datos | historique | memoire |
    mots? de passe | identifiants | donnees | unterhaltung | gesprach | verlauf | chatverlauf |
    gedachtnis | passwort | passworter | zugangsdaten | nutzerdaten | benutzerdaten | daten |
    gesprachsverlauf | unterhaltungsverlauf | nachrichtenverlauf | konversation | conversa |
    historico | senhas? | chaves? | credenciais | dados
""")
SEND = _words("""
    send | forward | post | upload | leak | exfiltrate | transmit | email | e-mail | mail |
    copy | append | embed | encode | include | attach | paste | submit | share | put | envia |
    envie | manda | mande | reenvia | comparte | sube | copia | incluye | envoie | envoyez |
    transmets | transmettez | copie | partage | publie | sende | schicke | schick | leite |
    lade | kopiere | teile | ubermittle | encaminhe | compartilhe | inclua | coloque
""")
TO = _words("""
    to | into | in | at | via | on | a | al | en | vers | sur | dans | an | zu | auf | nach | para |
    ao | em | no | na
""")
PLACE = (
    r"(?:(?:(?:my|this|the|that|our|mi|este|esta|mon|ma|cette|meine|meinen|diese|meu|minha)\s+"
    r"(?:email|e-mail|mail|address|inbox|server|url|link|site|website|webhook|endpoint|account|"
    r"correo|direccion|enlace|adresse|lien|adresse|endereco)\s*(?::|\s+at)?\s*)?"
    r"(?:(?:https?|ftp|sftp|s3)://|www\.|[\w.+-]+@[\w-]+\.\w+)|"
    + _words("""
    this url | this link | this address | this email | this e-mail | this server |
    this endpoint | this webhook | this website | this site | this domain | this form |
    the following url | the following address | the url | the link | the address |
    the endpoint | the webhook | the server | an image | a link | an url | a url | esta url |
    esta direccion | este enlace | este correo | la url | la direccion | el enlace | cette url |
    cette adresse | ce lien | l'adresse | l'url | le lien | diese url | diese adresse |
    diesen link | die url | die adresse | este link | este email | este endereco | o link |
    o endereco | o email
""")
    + ")"
)


# -- lists a single rule reads ----------------------------------------------------------------
REPEAT = _words("""
    repeat | recite | print | write out | quote | reproduce | output | spell out | repite |
    repitas | recita | repete | repetez | recite | cite | wiederhole | zitiere | gib wieder |
    repita | recite | cite
""")
VERBATIM = _words("""
    word for word | verbatim | exactly | mot pour mot | mot a mot | palabra por palabra |
    textualmente | literalmente | wort fur wort | wortlich | palavra por palavra | litteralement
""")
#: Show me / tell me, in Spanish, French, German and Portuguese.
SHOW = _words("""
    revela | revelame | muestra | muestrame | dime | imprime | repite | ensename | comparte |
    escribe | cual es | revele | revelez | montre | montrez | affiche | affichez | repete |
    repetez | donne | donnez | ecris | divulgue | quel est | zeig | zeige | gib | nenne |
    wiederhole | verrate | drucke | schreib | schreibe | offenbare | enthulle | was ist |
    mostre | mostra | diga | imprima | repita | compartilhe | escreva | qual e
""")
#: Your / the, in the same languages.
THEIR = _words("""
    tu | tus | el | las | ton | tes | vos | votre | le | les | deinen | deine | dein | ihren |
    ihre | den | die | das | seu | sua | suas | seus | teu | tua | tuas | o | as
""")
#: "Everything you were told", said to an assistant, in each language.
TOLD = (
    r"(?:todo\s+)?lo\s+que\s+te\s+(?:han\s+dicho|dijeron|indicaron|ordenaron)|"
    r"(?:tout\s+)?ce\s+(?:qu'on|que\s+l'on)\s+t'a\s+(?:dit|demande)|"
    r"tout\s+ce\s+qui\s+t'a\s+ete\s+dit|"
    r"alles\s*,?\s+was\s+(?:dir|man\s+dir)\s+(?:\w+\s+)?(?:gesagt|befohlen|aufgetragen)"
    r"(?:\s+(?:wurde|worden\s+ist|hat))?|"
    r"(?:tudo\s+)?o\s+que\s+(?:te|lhe)\s+(?:disseram|foi\s+dito|mandaram)"
)
SUPERSEDE = _words("""
    supersedes? | overrides? | replaces? | takes? precedence over | cancels? | invalidates?
""")
ABOVE = _words("""
    all of the above | all the above | everything above | everything before this |
    everything before | everything so far | anything above | the above | what is above |
    what's above | what was said before | what came before | the preceding | the foregoing |
    the text above | the previous text | prior context | previous context | todo lo anterior |
    lo anterior | todo lo de arriba | lo de arriba | todo lo dicho | tout ce qui precede |
    ce qui precede | tout ce qui est au-dessus | le texte ci-dessus | tout ce qu'on t'a dit |
    alles obige | das obige | alles bisherige | alles davor | alles vorherige |
    alles, was oben steht | alles was oben steht | tudo acima | tudo o que esta acima |
    o que esta acima | tudo o que foi dito antes | o texto acima | tudo o que te disseram
""")
PRETEND = _words("""
    pretend | pretend that | imagine that | finge | finja | imagina que | simula |
    fais semblant | faites semblant | tu so | gib vor | stell dir vor
""")
PRETEND_BE = _words("""
    you are | you're | to be | you were | que eres | ser | que seas | d'etre | que tu es |
    als warst du | als ob du | als waerst du | du seist | du warst | que voce e | que e
""")
ACT = _words("""
    act | behave | respond | answer | reply | roleplay | role-play | pose | actua | actue |
    comportate | responde | contesta | agis | agissez | comporte-toi | reponds | verhalte dich |
    antworte | aja | atue | comporte-se | responda
""")
ACT_LIKE = _words("""
    as | like | como | comme | wie | als
""")
REMEMBER = _words("""
    remember | memorize | memorise | store | save | retain | record | note | keep in mind |
    bear in mind | recuerda | recuerde | memoriza | memorice | guarda | almacena | apunta |
    ten en cuenta | souviens-toi | souvenez-vous | rappelle-toi | rappelez-vous | retiens |
    retenez | garde | gardez | enregistre | enregistrez | notez | merke dir | merk dir |
    merken sie sich | speichere | behalte | notiere | lembre-se | lembre | lembra | guarde |
    armazene | grave | anote
""")
STORE = _words("""
    add | save | store | write | put | insert | commit | inject | append | keep | record |
    guarda | almacena | anade | agrega | escribe | graba | enregistre | garde | ajoute | ecris |
    stocke | memorise | speichere | schreibe | fuge | nimm | behalte | salve | armazene |
    adicione | grave | escreva | mantenha
""")
UPDATE = _words("""
    update | modify | change | overwrite | rewrite | edit | reprogram | actualiza | modifica |
    cambia | mets a jour | modifie | aktualisiere | andere | uberschreibe | atualize |
    modifique | altere | mude
""")
