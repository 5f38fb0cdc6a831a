"""Word lists the mask uses to find people's names in free text: titles, common Brazilian given
names, name particles, and ordinary words that end a name.

The given names let the mask catch "maria silva" or "JOÃO PEREIRA" without a title; they are
compared accent- and case-insensitively. Names that are also ordinary words in error text
("max", "luz", "paz") are left out on purpose: a given name only masks when a surname-shaped
word follows it, but "max attempts" must stay readable.
"""

from __future__ import annotations

import unicodedata


def fold(word: str) -> str:
    """Lower case without accents: 'JOÃO' and 'joao' compare equal."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_GIVEN_NAMES = """
adriana adriano afonso agatha agnaldo aila alana alberto alessandra alexandre alice aline
alessandro alfredo alicia alisson amanda amelia ana anderson andre andrea andreia andressa
angela angelica anselmo antonia antonio aparecida arthur artur augusto barbara beatriz
benedita benedito benicio benjamin bento bernardo bianca brenda breno bruna bruno caio camila
camilo carla carlos carlota carmem carmen carolina caroline cassia cassio catarina cecilia
celia celso cesar charles cicero clara clarice claudia claudio clebson cleber cleide cristiane
cristiano cristina daiane daniel daniela danilo davi david debora denise diana diego diogo
dirce douglas edilene edilson edite edna edson eduarda eduardo elaine elena eliana eliane
elias elisa elisabete elizabete eloa eloisa elza emanuel emanuele emanuelly emilly enzo erica
erick erika ester eduardo esther eunice evandro evelyn fabiana fabiano fabio fabricio fatima
felipe fernanda fernando filipe flavia flavio francisca francisco gabriel gabriela gabriele
gabrielly gael geovana geraldo gerson giovana giovanna giovanni gisele giselle glaucia gloria
graziela guilherme gustavo heitor helena heloisa henrique hugo iara igor iolanda irene iris
isaac isabel isabela isabella isabelle isadora isaque ismael italo ivan ivone jaqueline jair
janaina jeferson jefferson jessica joana joao joaquim jonas jonathan jorge jose josefa josiane
josue juan julia juliana juliano julio jussara karina karine kaua kauan katia kelly lais lara
larissa laura lauro leandro leila leonardo leonor leticia levi liliane lindalva livia lorena
lorenzo louise luan luana lucas lucia luciana luciano lucimar luis luisa luiz luiza luna
lurdes madalena maiara maira manoel manuel manuela marcela marcelo marcia marcio marco marcos
margarida maria mariana marina mario marisa marlene marli marta matheus mateus mauricio mauro
michele michelle miguel milena miriam moises monica murilo nadia natalia natasha nathalia
neide nelson nicolas nicole nilson nilton noemi olga osvaldo otavio pablo paloma paola
patricia paula paulo pedro pietra priscila priscilla rafael rafaela raimunda raimundo raquel
rayane rebeca regiane regina reginaldo renan renata renato ricardo rita roberta roberto rodrigo
rogerio romulo ronaldo rosana rosangela rosemary rosimeire rubens ruth sabrina samuel sandra
sara sarah sebastiana sebastiao selma sergio severino silvana silvia simone sofia solange
sonia sophia stefany suelen suellen sueli tainara talita tatiana tereza teresa thais thalita
thiago tiago theo valentina valeria valter vanda vanessa vera veronica vicente victor vilma
vinicius vitor vitoria viviane wagner waldir walter wanderley washington wellington wesley
willian wilson yasmin yuri zilda zuleide
"""


def word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


GIVEN_NAMES: frozenset[str] = word_set(_GIVEN_NAMES)

# Lower-case words that join the parts of a name ("Maria da Silva", "Van der Berg").
PARTICLES: frozenset[str] = word_set("da de do das dos di du del della e van von der den la le y")

# Titles that may be written with a full stop ("Sr.", "dra."); the English ones only count
# capitalised ("Ms." after "30 ms." is a unit, not a title).
TITLES_WITH_STOP: frozenset[str] = word_set("sr sra srta dr dra prof profa")
ENGLISH_TITLES_WITH_STOP: frozenset[str] = word_set("mr mrs ms mx")
# Whole-word titles and roles; "paciente"/"patient" count in any case, the others capitalised.
ROLE_TITLES: frozenset[str] = word_set("paciente patient")
WORD_TITLES: frozenset[str] = word_set("senhor senhora dona miss")

# Words that end a name: a name is followed by what happened to it, not by more name.
STOP_WORDS: frozenset[str] = word_set(
    """
    a o as os um uma uns umas em no na nos nas ao aos com sem por para pra pelo pela que
    nao sim foi era sera esta estava tem tinha ja ainda mas ou se quando onde como porque
    falhou falha erro invalido invalida nao encontrado encontrada registro cadastro dados
    id cpf cns rg cep tel telefone email nasc idade anos mes dia
    the an and or of to in on at by for from with without not no is was are were be been
    has have had will would can could should may might must did does do this that these
    those it its as if then than but into onto over under after before during while
    failed failure error errors exception raised raise could not found missing invalid
    record records data id ids file line job jobs worker queue attempt attempts timeout
    none null true false ok
    """
)
